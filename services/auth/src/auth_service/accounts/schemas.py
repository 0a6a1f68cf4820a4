from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field

from auth_service.passwords import is_common
from kit.schemas import Input

USERNAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _username(value: str) -> str:
    if not USERNAME.match(value):
        raise ValueError("Use letters, digits, dots, dashes and underscores only.")
    return value


def _email(value: str) -> str:
    return value.strip().lower()


def _not_common(value: str) -> str:
    if is_common(value):
        raise ValueError("This password is too common; choose one that is harder to guess.")
    return value


Username = Annotated[str, Field(min_length=1, max_length=25), AfterValidator(_username)]
Email = Annotated[EmailStr, AfterValidator(_email)]
# An address that is only looked up (sign-in, forgot password): any text up to an address's
# length. An unknown or malformed one gets the same answer as a wrong one, so the format of an
# address (which email-validator judges more strictly than a schema can say) is checked only
# where an account is created.
GivenEmail = Annotated[str, Field(min_length=1, max_length=254), AfterValidator(_email)]
# No truncation and no trimming: what the user typed is what is hashed.
Password = Annotated[str, Field(min_length=8, max_length=1024)]
NewPassword = Annotated[Password, AfterValidator(_not_common)]
# A password that is only checked, never set: any length up to the cap.
GivenPassword = Annotated[str, Field(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=200)]


class RegisterIn(Input):
    email: Email
    username: Username
    password: NewPassword


class LoginIn(Input):
    email: GivenEmail
    password: GivenPassword


class TokenIn(Input):
    token: OpaqueToken


class EmailIn(Input):
    email: GivenEmail


class PasswordResetIn(Input):
    token: OpaqueToken
    password: NewPassword


class PasswordChangeIn(Input):
    current_password: GivenPassword
    new_password: NewPassword


class PasswordIn(Input):
    password: GivenPassword


class UserUpdate(Input):
    username: Username | None = None


class Accepted(BaseModel):
    status: str = "accepted"


class ProfilePublic(BaseModel):
    first_name: str
    last_name: str
    avatar_url: str | None


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    is_email_confirmed: bool
    is_staff: bool
    created_at: datetime
    profile: ProfilePublic


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str | None = Field(
        None, description="Only for `Parley-Token-Transport: body`; browsers get a cookie."
    )
    refresh_expires_in: int = Field(
        description="Seconds until the sign-in ends for good (the refresh cookie's Max-Age)."
    )
    user: UserPublic
