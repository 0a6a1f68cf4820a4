from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from chat_service.models import Workspace, WorkspaceMember
from chat_service.workspaces import invitations, service
from chat_service.workspaces import repository as repo
from chat_service.workspaces.schemas import (
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    InvitationList,
    InvitationPublic,
    MemberList,
    MemberPublic,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceList,
    WorkspacePublic,
    WorkspaceUpdate,
)
from kit.dependencies import costly_write

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workspace (or you are not in it)."}
}


async def _joined(
    workspace_id: uuid.UUID, caller: Caller, session: SessionDep
) -> tuple[Workspace, WorkspaceMember]:
    return await service.membership(session, caller, workspace_id)


Joined = Annotated[tuple[Workspace, WorkspaceMember], Depends(_joined)]


@router.get("", response_model=WorkspaceList)
async def list_workspaces(caller: Caller, session: SessionDep) -> WorkspaceList:
    """The caller's workspaces with their role in each, the personal one first."""
    return WorkspaceList(data=await service.listed(session, caller))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspacePublic,
    responses={403: {"description": "Email not confirmed"}},
    dependencies=[costly_write("dialogs")],
)
async def create_workspace(
    data: WorkspaceCreate, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> WorkspacePublic:
    """A team workspace, owned by its maker (a confirmed email is needed)."""
    return await service.create(runtime, session, caller, data)


@router.get("/{workspace_id}", response_model=WorkspacePublic, responses=NOT_FOUND)
async def get_workspace(joined: Joined) -> WorkspacePublic:
    workspace, member = joined
    return service.public(workspace, member.role)


@router.patch("/{workspace_id}", response_model=WorkspacePublic, responses=NOT_FOUND)
async def rename_workspace(
    joined: Joined, data: WorkspaceUpdate, session: SessionDep
) -> WorkspacePublic:
    """Rename (owners and admins)."""
    return await service.rename(session, *joined, data.name)


@router.delete(
    "/{workspace_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "A personal workspace"}},
)
async def delete_workspace(joined: Joined, session: SessionDep) -> Response:
    """Delete a team workspace with its dialogs and agents (owners)."""
    await service.delete(session, *joined)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{workspace_id}/members", response_model=MemberList, responses=NOT_FOUND)
async def list_members(joined: Joined, session: SessionDep) -> MemberList:
    workspace, _ = joined
    return MemberList(
        data=[service.member_public(m) for m in await repo.members(session, workspace.id)]
    )


@router.patch(
    "/{workspace_id}/members/{user_id}",
    response_model=MemberPublic,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "The last owner"}},
)
async def change_role(
    joined: Joined, user_id: uuid.UUID, data: MemberUpdate, session: SessionDep
) -> MemberPublic:
    """Change a member's role (owners change any; admins between member and admin)."""
    return await service.set_role(session, *joined, user_id, data.role)


@router.delete(
    "/{workspace_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "The last owner"}},
)
async def remove_member(
    joined: Joined, user_id: uuid.UUID, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Remove a member (owners and admins), or leave: your own id."""
    await service.remove(runtime, session, *joined, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{workspace_id}/invitations", response_model=InvitationList, responses=NOT_FOUND)
async def list_invitations(joined: Joined, session: SessionDep) -> InvitationList:
    """The invitations not accepted yet (expired ones included, to re-send)."""
    return InvitationList(data=await invitations.pending(session, joined[0]))


@router.post(
    "/{workspace_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationPublic,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "A personal workspace"}},
    dependencies=[costly_write("invitations")],
)
async def invite(
    joined: Joined,
    data: InvitationCreate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> InvitationPublic:
    """Invite someone by email (owners and admins): they get a mail with a link valid for 7
    days. Inviting an address again sends a new link in place of the old one."""
    return await invitations.invite(runtime, session, *joined, caller, data)


@router.post(
    "/{workspace_id}/invitations/{invitation_id}/resend",
    response_model=InvitationPublic,
    responses={**NOT_FOUND, 403: {}},
    dependencies=[costly_write("invitations")],
)
async def resend_invitation(
    joined: Joined,
    invitation_id: uuid.UUID,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> InvitationPublic:
    """Mail a new link (the earlier one stops working), valid for 7 days from now."""
    return await invitations.resend(runtime, session, *joined, caller, invitation_id)


@router.delete(
    "/{workspace_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {}},
)
async def revoke_invitation(
    joined: Joined, invitation_id: uuid.UUID, session: SessionDep
) -> Response:
    await invitations.revoke(session, *joined, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


accepting = APIRouter(prefix="/api/invitations", tags=["workspaces"])


@accepting.post(
    "/accept",
    response_model=InvitationAccepted,
    responses={
        400: {"description": "Used, revoked or expired"},
        403: {"description": "Email not confirmed, or another address invited"},
    },
)
async def accept_invitation(
    data: InvitationAccept, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> InvitationAccepted:
    """Join the workspace of an invitation sent to the caller's confirmed address."""
    return InvitationAccepted(
        workspace=await invitations.accept(runtime, session, caller, data.token)
    )
