"""Provider business rules: workspace provider settings and the per-workspace response cache."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.config import Settings, parse_duration
from morket.providers.base import ProviderResult
from morket.providers.repository import ProviderRepository
from morket.providers.schemas import ProviderSettingsOut, ProviderSettingsUpdate


@dataclass(frozen=True)
class CachePolicy:
    """Whether to use the response cache for a workspace, and how long entries live."""

    enabled: bool
    ttl: timedelta

    @classmethod
    def disabled(cls) -> CachePolicy:
        return cls(enabled=False, ttl=timedelta(0))


def default_cache_ttl(settings: Settings) -> timedelta:
    return parse_duration(settings.provider_cache_ttl)


class ProviderSettingsService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repo = ProviderRepository(session)
        self.default_ttl = default_cache_ttl(settings)

    async def get(self, workspace_id: uuid.UUID) -> ProviderSettingsOut:
        row = await self.repo.settings(workspace_id)
        if row is None:
            return ProviderSettingsOut(
                cache_enabled=True, cache_ttl_seconds=int(self.default_ttl.total_seconds()), is_default=True
            )
        return ProviderSettingsOut(
            cache_enabled=row.cache_enabled, cache_ttl_seconds=row.cache_ttl_seconds, is_default=False
        )

    async def update(self, workspace_id: uuid.UUID, body: ProviderSettingsUpdate) -> ProviderSettingsOut:
        await self.repo.save_settings(
            workspace_id, cache_enabled=body.cache_enabled, cache_ttl_seconds=body.cache_ttl_seconds
        )
        return ProviderSettingsOut(
            cache_enabled=body.cache_enabled, cache_ttl_seconds=body.cache_ttl_seconds, is_default=False
        )

    async def cache_policy(self, workspace_id: uuid.UUID) -> CachePolicy:
        current = await self.get(workspace_id)
        return CachePolicy(enabled=current.cache_enabled, ttl=timedelta(seconds=current.cache_ttl_seconds))


class ResponseCacheService:
    """Answers already paid for. Scope is one workspace: another workspace's hit is never served."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = ProviderRepository(session)

    async def lookup(
        self, workspace_id: uuid.UUID, provider: str, operation: str, request_hash: str
    ) -> ProviderResult | None:
        row = await self.repo.cached_response(workspace_id, provider, operation, request_hash, datetime.now(UTC))
        if row is None:
            return None
        return ProviderResult.model_validate({**row.response, "cached": True, "cost": 0})

    async def store(self, workspace_id: uuid.UUID, request_hash: str, result: ProviderResult, ttl: timedelta) -> None:
        if not result.outcome.cacheable or ttl <= timedelta(0):
            return
        now = datetime.now(UTC)
        response = result.model_dump(mode="json", exclude={"cost", "cached", "rate_limit"})
        await self.repo.store_response(
            workspace_id,
            result.provider,
            result.operation,
            request_hash,
            result.outcome.value,
            response,
            now,
            now + ttl,
        )

    async def purge_expired(self, limit: int = 10_000) -> int:
        """Delete up to `limit` expired entries; call repeatedly (e.g. from a scheduled job) until 0."""
        return await self.repo.purge_expired(datetime.now(UTC), limit)

    async def clear(self, workspace_id: uuid.UUID) -> int:
        return await self.repo.clear_workspace(workspace_id)
