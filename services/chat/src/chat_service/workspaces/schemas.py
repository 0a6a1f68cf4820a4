from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from kit.schemas import Input


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("Give the workspace a name.")
    return value.strip()


WorkspaceName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
Role = Literal["owner", "admin", "member"]


class WorkspaceCreate(Input):
    name: WorkspaceName


class WorkspaceUpdate(Input):
    name: WorkspaceName


class WorkspacePublic(BaseModel):
    id: uuid.UUID
    name: str
    personal: bool
    role: Role = Field(description="The caller's role in it.")
    created_at: datetime


class WorkspaceList(BaseModel):
    data: list[WorkspacePublic]


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    username: str
    role: Role
    joined_at: datetime


class MemberList(BaseModel):
    data: list[MemberPublic]


class MemberUpdate(Input):
    role: Role


def _address(value: str) -> str:
    value = value.strip()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError("Enter an email address.")
    return value


class InvitationCreate(Input):
    email: Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_address)]
    role: Literal["admin", "member"] = "member"


class InvitationPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class InvitationList(BaseModel):
    data: list[InvitationPublic]


class InvitationAccept(Input):
    token: Annotated[str, Field(min_length=1, max_length=200)]


class InvitationAccepted(BaseModel):
    workspace: WorkspacePublic
