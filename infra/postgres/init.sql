-- One database per service that owns data (services never share tables).
CREATE DATABASE parley_auth;
CREATE DATABASE parley_chat;
