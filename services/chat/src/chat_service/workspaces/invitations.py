"""Invitations to a workspace (docs/DESIGN.md §10): mailed through the outbox with a link to
`/invite/{token}`; the token (256 bits) is kept only as its digest, works once, and expires.

Accepting needs the caller signed in with the invited address confirmed: chat asks auth for the
caller's address, since a token carries none.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.messages.errors import EmailNotConfirmed
from chat_service.models import Invitation, Workspace, WorkspaceMember
from chat_service.runtime import Runtime
from chat_service.workspaces import repository as repo
from chat_service.workspaces.schemas import InvitationCreate, InvitationPublic, WorkspacePublic
from chat_service.workspaces.service import MANAGERS, public, require
from kit import event_types
from kit.db import utcnow
from kit.errors import AppError, Conflict, Forbidden, NotFound, ServiceUnavailable
from kit.jwt import AccessClaims
from kit.outbox import add_event

VALID_FOR = timedelta(days=7)


class InvitationNotFound(NotFound):
    code = "invitation_not_found"

    def __init__(self) -> None:
        super().__init__("No such invitation.")


class InvalidInvitation(AppError):
    status_code = 400
    code = "invalid_token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shown(invitation: Invitation) -> InvitationPublic:
    return InvitationPublic(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


def _mail(
    runtime: Runtime,
    session: AsyncSession,
    invitation: Invitation,
    workspace: Workspace,
    inviter: AccessClaims,
) -> None:
    """A new token for `invitation` (an earlier link stops working) and its mail."""
    token = secrets.token_urlsafe(32)
    invitation.token_digest = _digest(token)
    invitation.expires_at = utcnow() + VALID_FOR
    session.add(invitation)
    link = f"{runtime.settings.public_url.rstrip('/')}/invite/{token}"
    add_event(
        session,
        event_types.WORKSPACE_INVITATION,
        event_types.invitation(
            invitation.email,
            link,
            invitation.expires_at,
            workspace.name,
            inviter.username,
            invitation.role,
        ),
    )


async def invite(
    runtime: Runtime,
    session: AsyncSession,
    workspace: Workspace,
    member: WorkspaceMember,
    caller: AccessClaims,
    data: InvitationCreate,
) -> InvitationPublic:
    require(member, MANAGERS, "owners and admins")
    if workspace.personal:
        raise Conflict("A personal workspace has one member.", code="personal_workspace")
    invitation = await repo.pending_invitation(session, workspace.id, data.email)
    if invitation is None:
        invitation = Invitation(
            workspace_id=workspace.id,
            email=data.email,
            role=data.role,
            token_digest="",
            invited_by=caller.user_id,
            expires_at=utcnow(),
        )
    invitation.role = data.role
    _mail(runtime, session, invitation, workspace, caller)
    await session.flush()
    return shown(invitation)


async def _own(session: AsyncSession, workspace: Workspace, invitation_id: uuid.UUID) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.workspace_id != workspace.id or invitation.accepted_at:
        raise InvitationNotFound()
    return invitation


async def resend(
    runtime: Runtime,
    session: AsyncSession,
    workspace: Workspace,
    member: WorkspaceMember,
    caller: AccessClaims,
    invitation_id: uuid.UUID,
) -> InvitationPublic:
    require(member, MANAGERS, "owners and admins")
    invitation = await _own(session, workspace, invitation_id)
    _mail(runtime, session, invitation, workspace, caller)
    return shown(invitation)


async def revoke(
    session: AsyncSession, workspace: Workspace, member: WorkspaceMember, invitation_id: uuid.UUID
) -> None:
    require(member, MANAGERS, "owners and admins")
    await session.delete(await _own(session, workspace, invitation_id))


async def pending(session: AsyncSession, workspace: Workspace) -> list[InvitationPublic]:
    rows = await session.exec(
        select(Invitation)
        .where(Invitation.workspace_id == workspace.id, col(Invitation.accepted_at).is_(None))
        .order_by(col(Invitation.created_at))
    )
    return [shown(i) for i in rows.all()]


async def _address(runtime: Runtime, user_id: uuid.UUID) -> tuple[str, bool]:
    """The caller's address and whether it is confirmed, as auth has them now."""
    settings = runtime.settings
    try:
        response = await runtime.http.get(
            f"{settings.auth_url.rstrip('/')}/internal/users/{user_id}/contact",
            headers={"Authorization": f"Bearer {settings.internal_token}"},
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("Accounts are unavailable; try again shortly.") from exc
    if response.status_code != 200:
        raise ServiceUnavailable("Accounts are unavailable; try again shortly.")
    found = response.json()
    return str(found["email"]), bool(found["email_confirmed"])


async def accept(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, token: str
) -> WorkspacePublic:
    invitation = (
        await session.exec(select(Invitation).where(Invitation.token_digest == _digest(token)))
    ).first()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at <= utcnow()
    ):
        raise InvalidInvitation("This invitation is not valid: it was used, revoked or expired.")
    email, confirmed = await _address(runtime, caller.user_id)
    if not confirmed:
        raise EmailNotConfirmed("Confirm your email address first, then open the link again.")
    if email.casefold() != invitation.email.casefold():
        raise Forbidden(
            f"This invitation is for {invitation.email}; sign in with that address.",
            code="invitation_for_another_address",
        )
    workspace = await session.get(Workspace, invitation.workspace_id)
    if workspace is None:
        raise InvalidInvitation("This invitation is not valid: its workspace is gone.")
    member = await repo.membership(session, workspace.id, caller.user_id)
    if member is None:
        member = WorkspaceMember(
            workspace_id=workspace.id,
            user_id=caller.user_id,
            role=invitation.role,
            username=caller.username,
        )
        session.add(member)
    invitation.accepted_at = utcnow()
    invitation.accepted_by = caller.user_id
    session.add(invitation)
    return public(workspace, member.role)
