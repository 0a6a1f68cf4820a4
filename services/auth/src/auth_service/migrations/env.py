from sqlmodel import SQLModel

import auth_service.models  # noqa: F401  (registers the tables)
import kit.outbox  # noqa: F401
from kit.migrations import run_env

run_env(SQLModel.metadata)
