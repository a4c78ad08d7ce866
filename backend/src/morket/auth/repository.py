"""Every SQL statement of the auth module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import Membership, RefreshToken, Role, TokenFamily, User


@dataclass(frozen=True)
class Identity:
    """The caller behind a live access token, and their role in the workspace asked about (if any)."""

    id: uuid.UUID
    email: str
    name: str | None
    created_at: datetime
    role: Role | None


# Built once: this runs on every authenticated request, and a prebuilt statement also keeps
# its cache key, so SQLAlchemy neither rebuilds nor re-hashes it.
_LIVE_LOGIN = and_(TokenFamily.id == bindparam("fam"), TokenFamily.user_id == User.id, TokenFamily.revoked_at.is_(None))
_IDENTITY = (
    select(User.id, User.email, User.name, User.created_at)
    .join(TokenFamily, _LIVE_LOGIN)
    .where(User.id == bindparam("uid"))
)
_IDENTITY_IN_WORKSPACE = (
    select(User.id, User.email, User.name, User.created_at, Membership.role)
    .join(TokenFamily, _LIVE_LOGIN)
    .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.workspace_id == bindparam("ws")))
    .where(User.id == bindparam("uid"))
)


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        return (await self.session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()

    async def identity(
        self, user_id: uuid.UUID, family_id: uuid.UUID, workspace_id: uuid.UUID | None = None
    ) -> Identity | None:
        """One round trip: the user, whether their login is still live, and their role in a workspace.

        No row when the user is gone or the login (token family) was revoked; `role` is None when
        no workspace was asked about or the user is not a member of it.
        """
        if workspace_id is None:
            found = (await self.session.execute(_IDENTITY, {"uid": user_id, "fam": family_id})).one_or_none()
            return None if found is None else Identity(found.id, found.email, found.name, found.created_at, None)
        row = (
            await self.session.execute(_IDENTITY_IN_WORKSPACE, {"uid": user_id, "fam": family_id, "ws": workspace_id})
        ).one_or_none()
        return None if row is None else Identity(row.id, row.email, row.name, row.created_at, row.role)

    async def add_user(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def add_family(self, user_id: uuid.UUID) -> uuid.UUID:
        family = TokenFamily(id=uuid.uuid4(), user_id=user_id)
        self.session.add(family)
        await self.session.flush()
        return family.id

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def family_of_refresh_token(self, token_hash: str) -> uuid.UUID | None:
        """The login a refresh token belongs to (used or not), without a lock: the rate limit's key."""
        stmt = select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def refresh_token_for_update(self, token_hash: str) -> RefreshToken | None:
        # populate_existing: the locked read must win over anything the session already holds.
        stmt = (
            select(RefreshToken)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def is_latest_use_of_live_family(self, family_id: uuid.UUID, used_at: datetime) -> bool:
        """True when the family is not revoked and no token of it was used after `used_at`."""
        latest = select(func.max(RefreshToken.used_at)).where(RefreshToken.family_id == family_id).scalar_subquery()
        stmt = select(latest == used_at).where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        return bool((await self.session.execute(stmt)).scalar_one_or_none())

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(TokenFamily)
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )
