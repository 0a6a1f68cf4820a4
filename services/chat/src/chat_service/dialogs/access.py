"""Who may read and change a dialog (docs/DESIGN.md §10), the one rule every dialog, message and
stream path asks.

A dialog in the caller's personal workspace is theirs alone and needs no query (the answer
path's case). Elsewhere the caller must be a member of the dialog's workspace now — so a
removed member loses access at their next request — and the dialog must be shared with the
workspace or be their own. Changing a dialog (rename, share, delete) is for its maker, and for
the workspace's owners and admins when it is shared.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Dialog, WorkspaceMember, WorkspaceRole
from chat_service.workspaces import repository as workspaces
from chat_service.workspaces.ids import personal_id
from kit.jwt import AccessClaims

SHARED = "workspace"


async def _member(
    session: AsyncSession, caller: AccessClaims, workspace_id: uuid.UUID
) -> WorkspaceMember | None:
    return await workspaces.membership(session, workspace_id, caller.user_id)


async def may_read(
    session: AsyncSession,
    caller: AccessClaims,
    maker: uuid.UUID,
    workspace_id: uuid.UUID,
    visibility: str,
) -> bool:
    if workspace_id == personal_id(caller.user_id):
        return maker == caller.user_id
    if maker != caller.user_id and visibility != SHARED:
        return False
    return await _member(session, caller, workspace_id) is not None


async def may_change(session: AsyncSession, caller: AccessClaims, dialog: Dialog) -> bool:
    if not await may_read(session, caller, dialog.user_id, dialog.workspace_id, dialog.visibility):
        return False
    if dialog.user_id == caller.user_id:
        return True
    member = await _member(session, caller, dialog.workspace_id)
    return member is not None and member.role in (WorkspaceRole.owner, WorkspaceRole.admin)
