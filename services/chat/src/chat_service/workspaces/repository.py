from __future__ import annotations

import uuid

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Agent, Dialog, Invitation, Workspace, WorkspaceMember


async def membership(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> WorkspaceMember | None:
    return await session.get(WorkspaceMember, (workspace_id, user_id))


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Workspace, str]]:
    """The user's workspaces with their role, personal first, then by name."""
    rows = await session.exec(
        select(Workspace, WorkspaceMember.role)
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(WorkspaceMember.user_id == user_id)
        .order_by(col(Workspace.personal).desc(), col(Workspace.name), col(Workspace.id))
    )
    return [(workspace, role) for workspace, role in rows.all()]


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[WorkspaceMember]:
    rows = await session.exec(
        select(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == workspace_id)
        .order_by(col(WorkspaceMember.joined_at), col(WorkspaceMember.user_id))
    )
    return list(rows.all())


async def count_owners(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner"
    )
    return (await session.exec(query)).one()


async def delete_contents(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Everything that lives in a workspace: its dialogs (with their messages) and agents."""
    await session.exec(delete(Dialog).where(col(Dialog.workspace_id) == workspace_id))
    await session.exec(delete(Agent).where(col(Agent.workspace_id) == workspace_id))


async def memberships(session: AsyncSession, user_id: uuid.UUID) -> list[WorkspaceMember]:
    rows = await session.exec(select(WorkspaceMember).where(WorkspaceMember.user_id == user_id))
    return list(rows.all())


async def pending_invitation(
    session: AsyncSession, workspace_id: uuid.UUID, email: str
) -> Invitation | None:
    """The workspace's open invitation to `email` (any case), if there is one."""
    rows = await session.exec(
        select(Invitation).where(
            Invitation.workspace_id == workspace_id,
            func.lower(Invitation.email) == email.lower(),
            col(Invitation.accepted_at).is_(None),
        )
    )
    return rows.first()
