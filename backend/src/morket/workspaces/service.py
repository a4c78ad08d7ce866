"""Workspace lifecycle and membership rules (role hierarchy, last-owner protection)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.errors import Conflict, Forbidden, NotFound
from morket.models import Membership, Role, User, Workspace
from morket.workspaces.repository import WorkspaceRepository
from morket.workspaces.schemas import MemberOut, WorkspaceOut
from morket.workspaces.slug import slugify, with_suffix

_SLUG_ATTEMPTS = 8


class LastOwner(Conflict):
    code = "last_owner"


def _out(workspace: Workspace, role: Role) -> WorkspaceOut:
    return WorkspaceOut(
        id=workspace.id,
        name=workspace.name,
        slug=workspace.slug,
        role=role,
        created_at=workspace.created_at,
        updated_at=workspace.updated_at,
    )


def _member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        user_id=user.id, email=user.email, name=user.name, role=membership.role, joined_at=membership.created_at
    )


class WorkspaceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = WorkspaceRepository(session)

    async def role_of(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        membership = await self.repo.membership(workspace_id, user_id)
        return membership.role if membership else None

    async def create(self, owner_id: uuid.UUID, name: str) -> WorkspaceOut:
        base = slugify(name)
        candidate = base
        for attempt in range(_SLUG_ATTEMPTS):
            if attempt > 0 or await self.repo.slug_exists(candidate):
                candidate = with_suffix(base)
                if await self.repo.slug_exists(candidate):
                    continue
            workspace = Workspace(id=uuid.uuid4(), name=name, slug=candidate)
            if await self.repo.try_insert(workspace):
                await self.repo.add_membership(Membership(workspace_id=workspace.id, user_id=owner_id, role=Role.OWNER))
                await self.session.refresh(workspace)
                return _out(workspace, Role.OWNER)
        raise Conflict("Could not find a free slug for this name; try another name.", code="slug_unavailable")

    async def list_for(self, user_id: uuid.UUID) -> list[WorkspaceOut]:
        return [_out(ws, role) for ws, role in await self.repo.for_user(user_id)]

    async def get(self, workspace_id: uuid.UUID, role: Role) -> WorkspaceOut:
        row = await self.repo.read(workspace_id)
        if row is None:
            raise NotFound("Workspace not found.")
        return WorkspaceOut(
            id=row.id, name=row.name, slug=row.slug, role=role, created_at=row.created_at, updated_at=row.updated_at
        )

    async def rename(self, workspace_id: uuid.UUID, role: Role, name: str) -> WorkspaceOut:
        workspace = await self.repo.get(workspace_id, for_update=True)
        if workspace is None:
            raise NotFound("Workspace not found.")
        workspace.name = name
        await self.session.flush()
        await self.session.refresh(workspace)
        return _out(workspace, role)

    async def delete(self, workspace_id: uuid.UUID) -> None:
        workspace = await self.repo.get(workspace_id, for_update=True)
        if workspace is None:
            raise NotFound("Workspace not found.")
        await self.repo.delete(workspace)

    async def members(self, workspace_id: uuid.UUID) -> list[MemberOut]:
        return [_member_out(m, u) for m, u in await self.repo.members(workspace_id)]

    async def change_role(
        self, workspace_id: uuid.UUID, actor_id: uuid.UUID, user_id: uuid.UUID, role: Role
    ) -> MemberOut:
        actor_role = await self.lock_for_change(workspace_id, actor_id)
        if not actor_role.at_least(Role.ADMIN):
            raise Forbidden("Only admins and owners can change roles.")
        membership = await self._membership(workspace_id, user_id)
        self._check_may_manage(actor_role, membership.role)
        self.check_may_grant(actor_role, role)
        if membership.role == Role.OWNER and role != Role.OWNER and await self.repo.owner_count(workspace_id) <= 1:
            raise LastOwner("The last owner cannot be demoted; make someone else owner first.")
        membership.role = role
        await self.session.flush()
        user = await self.repo.user_by_id(user_id)
        assert user is not None
        return _member_out(membership, user)

    async def remove_member(self, workspace_id: uuid.UUID, actor_id: uuid.UUID, user_id: uuid.UUID) -> None:
        actor_role = await self.lock_for_change(workspace_id, actor_id)
        membership = await self._membership(workspace_id, user_id)
        if user_id != actor_id:
            if not actor_role.at_least(Role.ADMIN):
                raise Forbidden("Only admins and owners can remove other members.")
            self._check_may_manage(actor_role, membership.role)
        if membership.role == Role.OWNER and await self.repo.owner_count(workspace_id) <= 1:
            raise LastOwner("The last owner cannot leave or be removed; make someone else owner first.")
        await self.repo.remove_membership(workspace_id, user_id)

    async def lock_for_change(self, workspace_id: uuid.UUID, actor_id: uuid.UUID) -> Role:
        """Lock the workspace row and return the actor's role as it is now.

        The lock serialises membership changes of one workspace, so two demotions cannot both
        pass the last-owner check; re-reading the actor's role under it means a role that was
        changed while this request waited is the one that counts.
        """
        if await self.repo.get(workspace_id, for_update=True) is None:
            raise NotFound("Workspace not found.")
        membership = await self.repo.membership(workspace_id, actor_id)
        if membership is None:
            raise NotFound("Workspace not found.")
        await self.session.refresh(membership)
        return membership.role

    async def _membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
        membership = await self.repo.membership(workspace_id, user_id)
        if membership is None:
            raise NotFound("This user is not a member of the workspace.", code="member_not_found")
        return membership

    @staticmethod
    def check_may_grant(actor_role: Role, role: Role) -> None:
        if role == Role.OWNER and actor_role != Role.OWNER:
            raise Forbidden("Only owners can grant the owner role.")

    @staticmethod
    def _check_may_manage(actor_role: Role, target_role: Role) -> None:
        if target_role == Role.OWNER and actor_role != Role.OWNER:
            raise Forbidden("Only owners can change or remove another owner.")
