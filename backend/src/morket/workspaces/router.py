from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from morket.auth.deps import CurrentUser
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.workspaces.deps import AdminAccess, OwnerAccess, ViewerAccess
from morket.workspaces.invitations import InvitationService
from morket.workspaces.schemas import (
    Deleted,
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
    MemberOut,
    RoleUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)
from morket.workspaces.service import WorkspaceService

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])
invitations_router = APIRouter(prefix="/api/v1/invitations", tags=["workspaces"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_workspace(body: WorkspaceCreate, user: CurrentUser, session: SessionDep) -> Envelope[WorkspaceOut]:
    """Create a workspace; the caller becomes its owner."""
    return ok(await WorkspaceService(session).create(user.id, body.name))


@router.get("")
async def list_workspaces(user: CurrentUser, session: SessionDep) -> Envelope[list[WorkspaceOut]]:
    """The workspaces the caller belongs to, with the caller's role in each."""
    return ok(await WorkspaceService(session).list_for(user.id))


@router.get("/{workspace_id}")
async def get_workspace(access: ViewerAccess, session: SessionDep) -> Envelope[WorkspaceOut]:
    """One workspace (any member)."""
    return ok(await WorkspaceService(session).get(access.workspace_id, access.role))


@router.put("/{workspace_id}")
async def update_workspace(body: WorkspaceUpdate, access: AdminAccess, session: SessionDep) -> Envelope[WorkspaceOut]:
    """Rename a workspace (admin+). The slug stays, so links keep working."""
    return ok(await WorkspaceService(session).rename(access.workspace_id, access.role, body.name))


@router.delete("/{workspace_id}")
async def delete_workspace(access: OwnerAccess, session: SessionDep) -> Envelope[Deleted]:
    """Delete a workspace and everything in it (owner)."""
    await WorkspaceService(session).delete(access.workspace_id)
    return ok(Deleted(id=access.workspace_id))


@router.get("/{workspace_id}/members")
async def list_members(access: ViewerAccess, session: SessionDep) -> Envelope[list[MemberOut]]:
    """Members of the workspace with their roles (any member)."""
    return ok(await WorkspaceService(session).members(access.workspace_id))


@router.post("/{workspace_id}/invitations", status_code=status.HTTP_201_CREATED)
async def invite(
    body: InvitationCreate, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[InvitationCreated]:
    """Invite an email with a role (admin+; only owners invite owners). The token is shown only here."""
    service = InvitationService(session, settings.invitation_ttl_delta)
    return ok(await service.invite(access.workspace_id, access.user_id, str(body.email), body.role))


@router.get("/{workspace_id}/invitations")
async def list_invitations(
    access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[list[InvitationOut]]:
    """Pending invitations of the workspace (admin+), without their tokens."""
    return ok(await InvitationService(session, settings.invitation_ttl_delta).pending(access.workspace_id))


@router.delete("/{workspace_id}/invitations/{invitation_id}")
async def revoke_invitation(
    invitation_id: uuid.UUID, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[InvitationOut]:
    """Revoke a pending invitation (admin+; an invitation to owner, owners only)."""
    service = InvitationService(session, settings.invitation_ttl_delta)
    return ok(await service.revoke(access.workspace_id, access.user_id, invitation_id))


@router.delete("/{workspace_id}/members/{user_id}")
async def remove_member(user_id: uuid.UUID, access: ViewerAccess, session: SessionDep) -> Envelope[Deleted]:
    """Remove a member (admin+), or leave the workspace yourself. The last owner cannot go."""
    await WorkspaceService(session).remove_member(access.workspace_id, access.user_id, user_id)
    return ok(Deleted(id=user_id))


@router.put("/{workspace_id}/members/{user_id}/role")
async def change_role(
    user_id: uuid.UUID, body: RoleUpdate, access: AdminAccess, session: SessionDep
) -> Envelope[MemberOut]:
    """Change a member's role (admin+). The last owner cannot be demoted."""
    return ok(await WorkspaceService(session).change_role(access.workspace_id, access.user_id, user_id, body.role))


@invitations_router.post("/accept")
async def accept_invitation(
    body: InvitationAccept, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Envelope[WorkspaceOut]:
    """Join a workspace with an invitation's token, signed in with the invited email."""
    return ok(await InvitationService(session, settings.invitation_ttl_delta).accept(user.id, user.email, body.token))
