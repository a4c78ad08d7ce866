"""Every SQL statement of the API-key module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ApiKey, ApiKeyScope, Membership, Role


@dataclass(frozen=True)
class ApiKeyIdentity:
    """A presented key as the request check needs it: one row, cached by the identity cache."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    prefix: str
    key_role: Role
    scopes: frozenset[ApiKeyScope]
    rate_limit_per_minute: int
    created_by: uuid.UUID
    # The creator's role in the key's workspace now; None when they left or were removed.
    creator_role: Role | None
    revoked_at: datetime | None

    @property
    def role(self) -> Role | None:
        """The key acts with its own role, never above its creator's current one."""
        if self.creator_role is None:
            return None
        return self.key_role if self.creator_role.at_least(self.key_role) else self.creator_role


# Built once: it runs on every request made with a key the cache does not hold.
_BY_HASH = (
    select(ApiKey, Membership.role.label("creator_role"))
    .outerjoin(
        Membership, and_(Membership.user_id == ApiKey.created_by, Membership.workspace_id == ApiKey.workspace_id)
    )
    .where(ApiKey.key_hash == bindparam("key_hash"))
)
# Guarded in SQL too, so several processes that each decide to record a use write once a minute.
_TOUCH = text(
    "UPDATE api_keys SET last_used_at = now() "
    "WHERE id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')"
)


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        await self.session.refresh(key)
        return key

    async def by_hash(self, key_hash: str) -> ApiKeyIdentity | None:
        row = (await self.session.execute(_BY_HASH, {"key_hash": key_hash})).one_or_none()
        if row is None:
            return None
        key: ApiKey = row[0]
        return ApiKeyIdentity(
            id=key.id,
            workspace_id=key.workspace_id,
            name=key.name,
            prefix=key.prefix,
            key_role=key.role,
            scopes=frozenset(key.scopes),
            rate_limit_per_minute=key.rate_limit_per_minute,
            created_by=key.created_by,
            creator_role=row.creator_role,
            revoked_at=key.revoked_at,
        )

    async def list(self, workspace_id: uuid.UUID, *, include_revoked: bool) -> list[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.workspace_id == workspace_id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return list((await self.session.execute(stmt.order_by(ApiKey.created_at.desc(), ApiKey.id))).scalars())

    async def get(self, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def revoke(self, workspace_id: uuid.UUID, key_id: uuid.UUID, at: datetime) -> ApiKey | None:
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id)
            .values(revoked_at=at)
            .where(ApiKey.revoked_at.is_(None))
            .returning(ApiKey)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def touch(self, key_id: uuid.UUID) -> None:
        await self.session.execute(_TOUCH, {"id": key_id})
