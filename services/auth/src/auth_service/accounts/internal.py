"""What Parley's own services may ask auth about an account (`/internal`, internal token).

The mailer sends mail about things other services own (a webhook that keeps failing, in chat):
their events name the user, and the mailer asks here where to write.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from auth_service.dependencies import Internal, SessionDep
from auth_service.models import User
from kit.errors import NotFound

router = APIRouter(prefix="/internal", dependencies=[Internal], include_in_schema=False)


class Contact(BaseModel):
    user_id: uuid.UUID
    email: str
    username: str
    is_active: bool
    email_confirmed: bool


@router.get("/users/{user_id}/contact", response_model=Contact)
async def contact(user_id: uuid.UUID, session: SessionDep) -> Contact:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return Contact(
        user_id=user.id,
        email=user.email,
        username=user.username,
        is_active=user.is_active,
        email_confirmed=user.is_email_confirmed,
    )
