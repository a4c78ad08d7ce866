from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from morket.auth.deps import CurrentUser
from morket.core.deps import SessionDep
from morket.core.envelope import Envelope, ok
from morket.workspaces.deps import AdminAccess, OwnerAccess, ViewerAccess
from morket.workspaces.schemas import (
    Deleted,
    MemberAdd,
    MemberOut,
    RoleUpdate,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspaceUpdate,
)
from morket.workspaces.service import WorkspaceService

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])


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


@router.post("/{workspace_id}/members", status_code=status.HTTP_201_CREATED)
async def add_member(body: MemberAdd, access: AdminAccess, session: SessionDep) -> Envelope[MemberOut]:
    """Add an existing user by email with a role (admin+; only owners grant owner)."""
    return ok(
        await WorkspaceService(session).add_member(access.workspace_id, access.user_id, str(body.email), body.role)
    )


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
