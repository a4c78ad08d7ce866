"""Every SQL statement of the workspace module."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import Invitation, Membership, Role, User, Workspace

# The read of GET /workspaces/{id}: Core columns (no ORM instance to build and track), built once.
_READ = select(
    Workspace.__table__.c.id,
    Workspace.__table__.c.name,
    Workspace.__table__.c.slug,
    Workspace.__table__.c.created_at,
    Workspace.__table__.c.updated_at,
).where(Workspace.__table__.c.id == bindparam("id"))


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        return await self.session.get(Membership, (workspace_id, user_id))

    async def slug_exists(self, slug: str) -> bool:
        return (await self.session.execute(select(Workspace.id).where(Workspace.slug == slug))).first() is not None

    async def try_insert(self, workspace: Workspace) -> bool:
        """Insert under a savepoint; False when the slug was taken concurrently."""
        try:
            async with self.session.begin_nested():
                self.session.add(workspace)
                await self.session.flush()
            return True
        except IntegrityError:
            return False

    async def add_membership(self, membership: Membership) -> None:
        self.session.add(membership)
        await self.session.flush()

    async def for_user(self, user_id: uuid.UUID) -> list[tuple[Workspace, Role]]:
        stmt = (
            select(Workspace, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.created_at, Workspace.id)
        )
        return [(ws, role) for ws, role in (await self.session.execute(stmt)).all()]

    async def read(self, workspace_id: uuid.UUID) -> Row[uuid.UUID, str, str, datetime, datetime] | None:
        """The workspace's fields for display (id, name, slug, created_at, updated_at), read-only."""
        return (await self.session.execute(_READ, {"id": workspace_id})).one_or_none()

    async def get(self, workspace_id: uuid.UUID, *, for_update: bool = False) -> Workspace | None:
        stmt = select(Workspace).where(Workspace.id == workspace_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete(self, workspace: Workspace) -> None:
        await self.session.delete(workspace)
        await self.session.flush()

    async def members(self, workspace_id: uuid.UUID) -> list[tuple[Membership, User]]:
        stmt = (
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace_id)
            .order_by(Membership.created_at, User.email)
        )
        return [(m, u) for m, u in (await self.session.execute(stmt)).all()]

    async def owner_count(self, workspace_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER)
        return int((await self.session.execute(stmt)).scalar_one())

    async def remove_membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        )

    async def user_by_email(self, email: str) -> User | None:
        return (await self.session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    # invitations ------------------------------------------------------------------------

    async def add_invitation(self, invitation: Invitation) -> None:
        self.session.add(invitation)
        await self.session.flush()

    async def revoke_open_invitations(self, workspace_id: uuid.UUID, email: str, now: datetime) -> None:
        await self.session.execute(
            update(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )

    async def pending_invitations(self, workspace_id: uuid.UUID, now: datetime) -> list[Invitation]:
        stmt = (
            select(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at, Invitation.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def invitation(self, workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation | None:
        stmt = (
            select(Invitation)
            .where(Invitation.workspace_id == workspace_id, Invitation.id == invitation_id)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def invitation_by_token_hash(self, token_hash: str) -> Invitation | None:
        """Locked: two accepts of one token are serialised, and the second sees it used."""
        stmt = (
            select(Invitation)
            .where(Invitation.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
