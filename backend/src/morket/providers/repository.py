"""Every SQL statement of the providers module: the response cache and the workspace settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ProviderResponseCache, WorkspaceProviderSettings


class ProviderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cached_response(
        self, workspace_id: uuid.UUID, provider: str, operation: str, request_hash: str, now: datetime
    ) -> ProviderResponseCache | None:
        stmt = select(ProviderResponseCache).where(
            ProviderResponseCache.workspace_id == workspace_id,
            ProviderResponseCache.provider == provider,
            ProviderResponseCache.operation == operation,
            ProviderResponseCache.request_hash == request_hash,
            ProviderResponseCache.expires_at > now,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def store_response(
        self,
        workspace_id: uuid.UUID,
        provider: str,
        operation: str,
        request_hash: str,
        outcome: str,
        response: dict[str, Any],
        now: datetime,
        expires_at: datetime,
    ) -> None:
        """Insert or refresh the entry; concurrent writers of one request simply last-write-win."""
        stmt = insert(ProviderResponseCache).values(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            provider=provider,
            operation=operation,
            request_hash=request_hash,
            outcome=outcome,
            response=response,
            created_at=now,
            expires_at=expires_at,
        )
        stmt = stmt.on_conflict_do_update(
            constraint="uq_provider_response_cache_workspace_id",
            set_={
                "outcome": stmt.excluded.outcome,
                "response": stmt.excluded.response,
                "created_at": stmt.excluded.created_at,
                "expires_at": stmt.excluded.expires_at,
            },
        )
        await self.session.execute(stmt)

    async def purge_expired(self, now: datetime, limit: int) -> int:
        expired = (
            select(ProviderResponseCache.id)
            .where(ProviderResponseCache.expires_at <= now)
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(ProviderResponseCache).where(ProviderResponseCache.id.in_(expired)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def clear_workspace(self, workspace_id: uuid.UUID) -> int:
        result = await self.session.execute(
            delete(ProviderResponseCache).where(ProviderResponseCache.workspace_id == workspace_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def settings(self, workspace_id: uuid.UUID) -> WorkspaceProviderSettings | None:
        return await self.session.get(WorkspaceProviderSettings, workspace_id)

    async def save_settings(self, workspace_id: uuid.UUID, *, cache_enabled: bool, cache_ttl_seconds: int) -> None:
        stmt = insert(WorkspaceProviderSettings).values(
            workspace_id=workspace_id, cache_enabled=cache_enabled, cache_ttl_seconds=cache_ttl_seconds
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[WorkspaceProviderSettings.workspace_id],
            set_={
                "cache_enabled": stmt.excluded.cache_enabled,
                "cache_ttl_seconds": stmt.excluded.cache_ttl_seconds,
                "updated_at": func.now(),
            },
        )
        await self.session.execute(stmt)
        await self.session.flush()
