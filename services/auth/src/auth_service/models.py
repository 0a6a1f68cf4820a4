"""Auth's tables: users with their profile, sessions (refresh-token families), one-time tokens,
API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Uuid, func, text
from sqlmodel import Field, SQLModel

from kit.db import UTCDateTime, new_id, utcnow


def _fk(target: str) -> Column[uuid.UUID]:
    return Column(Uuid, ForeignKey(target, ondelete="CASCADE"), nullable=False, index=True)


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    # `alice` and `ALICE` are one name (migration 0002)
    __table_args__ = (
        Index("ix_user_account_username_lower", func.lower(text("username")), unique=True),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(sa_column=Column(String(254), unique=True, nullable=False))
    username: str = Field(sa_column=Column(String(25), unique=True, nullable=False))
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    is_staff: bool = False
    is_email_confirmed: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Profile(SQLModel, table=True):
    __tablename__ = "profile"

    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    )
    first_name: str = Field(default="", max_length=32)
    last_name: str = Field(default="", max_length=32)
    avatar: str | None = Field(default=None, max_length=100)


class AuthSession(SQLModel, table=True):
    """A signed-in device: the family of refresh tokens issued since one login."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=_fk("user_account.id"))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_used_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    user_agent: str = Field(default="", max_length=255)
    ip: str = Field(default="", max_length=64)


class RefreshToken(SQLModel, table=True):
    """Every refresh token ever issued to a session, by hash; `rotated_at` set once it was used."""

    __tablename__ = "refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: uuid.UUID = Field(sa_column=_fk("auth_session.id"))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class EmailToken(SQLModel, table=True):
    """A single-use token mailed to the user: email confirmation or password reset."""

    __tablename__ = "email_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(sa_column=_fk("user_account.id"))
    purpose: str = Field(max_length=16)  # "confirm" | "reset"
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ApiKey(SQLModel, table=True):
    """A program's credential (docs/DESIGN.md §11): shown once, kept only as a hash.

    `prefix` (the first characters of the key) is kept readable so a person can tell their keys
    apart; a revoked key keeps its row (usage names it) but never works again.
    """

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=_fk("user_account.id"))
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
