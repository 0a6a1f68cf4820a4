"""Workspaces and their members (docs/DESIGN.md §10): who may do what, in one place.

Every user has a personal workspace, made the first time it is needed; its id is derived from
the user's (`personal_id`), so the answer path places a new dialog there without a lookup.
Roles: an owner may do everything; an admin manages members (not owners) and renames; a member
reads and posts. A workspace never loses its last owner. A non-member gets 404, never 403.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.dialogs import live
from chat_service.messages.errors import EmailNotConfirmed
from chat_service.messages.posting import confirmed_since_signed
from chat_service.models import Workspace, WorkspaceMember, WorkspaceRole
from chat_service.runtime import Runtime
from chat_service.workspaces import repository as repo
from chat_service.workspaces.ids import personal_id as personal_id
from chat_service.workspaces.schemas import MemberPublic, WorkspaceCreate, WorkspacePublic
from kit.db import utcnow
from kit.errors import Conflict, Forbidden, NotFound
from kit.jwt import AccessClaims

PERSONAL_NAME = "Personal"
MANAGERS = (WorkspaceRole.owner, WorkspaceRole.admin)


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"

    def __init__(self) -> None:
        super().__init__("No such workspace.")


class MemberNotFound(NotFound):
    code = "member_not_found"

    def __init__(self) -> None:
        super().__init__("No such member.")


def public(workspace: Workspace, role: str) -> WorkspacePublic:
    return WorkspacePublic(
        id=workspace.id,
        name=workspace.name,
        personal=workspace.personal,
        role=role,
        created_at=workspace.created_at,
    )


def member_public(member: WorkspaceMember) -> MemberPublic:
    return MemberPublic(
        user_id=member.user_id,
        username=member.username,
        role=member.role,
        joined_at=member.joined_at,
    )


async def ensure_personal(session: AsyncSession, caller: AccessClaims) -> None:
    """The caller's personal workspace exists (made now if not: a race of two is harmless)."""
    workspace_id = personal_id(caller.user_id)
    if await session.get(Workspace, workspace_id) is not None:
        return
    try:
        async with session.begin_nested():
            session.add(
                Workspace(
                    id=workspace_id, name=PERSONAL_NAME, personal=True, created_by=caller.user_id
                )
            )
            await session.flush()
            session.add(
                WorkspaceMember(
                    workspace_id=workspace_id,
                    user_id=caller.user_id,
                    role=WorkspaceRole.owner,
                    username=caller.username,
                )
            )
    except IntegrityError:
        pass  # another request made it first


async def listed(session: AsyncSession, caller: AccessClaims) -> list[WorkspacePublic]:
    """The caller's workspaces; their name as teammates see it follows their latest token."""
    await ensure_personal(session, caller)
    shown = []
    for workspace, role in await repo.of_user(session, caller.user_id):
        shown.append(public(workspace, role))
    if caller.username:
        for member in await repo.memberships(session, caller.user_id):
            if member.username != caller.username:
                member.username = caller.username
                session.add(member)
    return shown


async def membership(
    session: AsyncSession, caller: AccessClaims, workspace_id: uuid.UUID
) -> tuple[Workspace, WorkspaceMember]:
    """The workspace and the caller's place in it; 404 for anyone else."""
    if workspace_id == personal_id(caller.user_id):
        await ensure_personal(session, caller)
    member = await repo.membership(session, workspace_id, caller.user_id)
    workspace = await session.get(Workspace, workspace_id) if member else None
    if member is None or workspace is None:
        raise WorkspaceNotFound()
    return workspace, member


def require(member: WorkspaceMember, roles: tuple[str, ...], what: str) -> None:
    if member.role not in roles:
        raise Forbidden(f"Only {what} may do this.", code="workspace_role_required")


async def create(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, data: WorkspaceCreate
) -> WorkspacePublic:
    if not caller.email_confirmed and not await confirmed_since_signed(runtime, caller):
        raise EmailNotConfirmed("Confirm your email address to create a workspace.")
    workspace = Workspace(name=data.name, created_by=caller.user_id)
    session.add(workspace)
    await session.flush()
    session.add(
        WorkspaceMember(
            workspace_id=workspace.id,
            user_id=caller.user_id,
            role=WorkspaceRole.owner,
            username=caller.username,
        )
    )
    return public(workspace, WorkspaceRole.owner)


async def rename(
    session: AsyncSession, workspace: Workspace, member: WorkspaceMember, name: str
) -> WorkspacePublic:
    require(member, MANAGERS, "owners and admins")
    workspace.name = name
    workspace.updated_at = utcnow()
    session.add(workspace)
    return public(workspace, member.role)


async def delete(session: AsyncSession, workspace: Workspace, member: WorkspaceMember) -> None:
    """Delete a team workspace with everything in it (the web UI asks first)."""
    require(member, (WorkspaceRole.owner,), "owners")
    if workspace.personal:
        raise Conflict("A personal workspace cannot be deleted.", code="personal_workspace")
    await repo.delete_contents(session, workspace.id)
    await session.delete(workspace)


async def _target(
    session: AsyncSession, workspace: Workspace, user_id: uuid.UUID
) -> WorkspaceMember:
    target = await repo.membership(session, workspace.id, user_id)
    if target is None:
        raise MemberNotFound()
    return target


async def _keeps_an_owner(
    session: AsyncSession, workspace: Workspace, target: WorkspaceMember
) -> None:
    if target.role == WorkspaceRole.owner and await repo.count_owners(session, workspace.id) <= 1:
        raise Conflict(
            "A workspace needs an owner: make someone else owner first.", code="last_owner"
        )


async def set_role(
    session: AsyncSession,
    workspace: Workspace,
    member: WorkspaceMember,
    user_id: uuid.UUID,
    role: str,
) -> MemberPublic:
    """Owners change any role; admins move people between member and admin, never owners."""
    require(member, MANAGERS, "owners and admins")
    target = await _target(session, workspace, user_id)
    if WorkspaceRole.owner in (role, target.role):
        require(member, (WorkspaceRole.owner,), "owners")
    if workspace.personal:
        raise Conflict("A personal workspace has one member.", code="personal_workspace")
    if role != WorkspaceRole.owner:
        await _keeps_an_owner(session, workspace, target)
    target.role = role
    session.add(target)
    return member_public(target)


async def remove(
    runtime: Runtime,
    session: AsyncSession,
    workspace: Workspace,
    member: WorkspaceMember,
    user_id: uuid.UUID,
) -> None:
    """Remove a member, or leave (`user_id` is the caller's own)."""
    target = await _target(session, workspace, user_id)
    if target.user_id != member.user_id:
        require(member, MANAGERS, "owners and admins")
        if target.role in MANAGERS:
            require(member, (WorkspaceRole.owner,), "owners")
    elif workspace.personal:
        raise Conflict("You cannot leave your personal workspace.", code="personal_workspace")
    await _keeps_an_owner(session, workspace, target)
    await session.delete(target)
    await live.member_removed(runtime, session, workspace.id, target.user_id)


async def leave_all(runtime: Runtime, session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted account leaves every workspace cleanly: one it was the last owner of passes to
    its longest-standing admin, else member; one with nobody left goes, with what is in it."""
    for member in await repo.memberships(session, user_id):
        others = [
            m for m in await repo.members(session, member.workspace_id) if m.user_id != user_id
        ]
        if not others:
            workspace = await session.get(Workspace, member.workspace_id)
            await session.delete(member)
            await session.flush()
            await repo.delete_contents(session, member.workspace_id)
            if workspace is not None:
                await session.delete(workspace)
            continue
        if member.role == WorkspaceRole.owner and all(
            m.role != WorkspaceRole.owner for m in others
        ):
            heir = next((m for m in others if m.role == WorkspaceRole.admin), others[0])
            heir.role = WorkspaceRole.owner
            session.add(heir)
        await session.delete(member)
        await live.member_removed(runtime, session, member.workspace_id, user_id)
