from sqlmodel import SQLModel

import chat_service.models  # noqa: F401  (registers the tables)
import kit.outbox  # noqa: F401
from kit.migrations import run_env

run_env(SQLModel.metadata)
