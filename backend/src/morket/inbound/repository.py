"""Every SQL statement of inbound endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import InboundEndpoint

_LIVE_BY_HASH = select(InboundEndpoint).where(
    InboundEndpoint.token_hash == bindparam("token_hash"), InboundEndpoint.revoked_at.is_(None)
)


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, endpoint: InboundEndpoint) -> InboundEndpoint:
        self.session.add(endpoint)
        await self.session.flush()
        await self.session.refresh(endpoint)
        return endpoint

    async def live_for_table(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, *, lock: bool = False
    ) -> InboundEndpoint | None:
        stmt = select(InboundEndpoint).where(
            InboundEndpoint.workspace_id == workspace_id,
            InboundEndpoint.table_id == table_id,
            InboundEndpoint.revoked_at.is_(None),
        )
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def live_by_hash(self, token_hash: str) -> InboundEndpoint | None:
        return (await self.session.execute(_LIVE_BY_HASH, {"token_hash": token_hash})).scalar_one_or_none()

    async def live_by_id(self, endpoint_id: uuid.UUID) -> InboundEndpoint | None:
        stmt = select(InboundEndpoint).where(InboundEndpoint.id == endpoint_id, InboundEndpoint.revoked_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save(self, endpoint: InboundEndpoint, at: datetime) -> InboundEndpoint:
        endpoint.updated_at = at
        await self.session.flush()
        await self.session.refresh(endpoint)
        return endpoint
