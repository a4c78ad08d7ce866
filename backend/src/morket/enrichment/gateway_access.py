"""How chunk activities reach providers: the process's ProviderGateway with the workspace's keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.enrichment.waterfall import ProviderCall
from morket.providers.base import (
    Operation,
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
)
from morket.providers.gateway import ProviderGateway
from morket.providers.limiter import InMemoryProviderLimiter, ProviderLimiter, RedisProviderLimiter
from morket.providers.service import CachePolicy
from morket.providers.transport import provider_http_client


class GatewayProviderAccess:
    """Keys and cache policy are resolved once per chunk, not once per call."""

    def __init__(self, gateway: ProviderGateway) -> None:
        self.gateway = gateway

    @classmethod
    @asynccontextmanager
    async def create(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[GatewayProviderAccess]:
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        limiter: ProviderLimiter = RedisProviderLimiter(redis) if redis is not None else InMemoryProviderLimiter()
        # As many connections as calls in flight; the I/O runs on aiohttp (see providers.transport).
        in_flight = settings.enrichment_parallel_chunks * settings.enrichment_record_concurrency
        http = provider_http_client(settings.provider_timeout_seconds, max_connections=in_flight)
        gateway = ProviderGateway(
            settings,
            sessions,
            http=http,
            redis=redis,
            limiter=limiter,
        )
        async with http, gateway:
            yield cls(gateway)

    async def open(
        self, workspace_id: uuid.UUID, providers: Sequence[str], *, use_cache: bool = True
    ) -> tuple[Mapping[str, ProviderAdapter], ProviderCall]:
        gateway = self.gateway
        keys: dict[str, ProviderCredential | None] = {
            slug: await gateway.resolve_credential(workspace_id, slug) for slug in providers
        }
        # A retried chunk bypasses the cache: a hit there could be its own crashed attempt's answer,
        # which would then go unbilled (cached answers cost nothing).
        policy = await gateway.cache_policy(workspace_id) if use_cache else CachePolicy.disabled()

        async def call(adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]) -> ProviderResult:
            return await gateway.enrich(
                workspace_id, adapter.slug, operation.name, inputs, credential=keys.get(adapter.slug), cache=policy
            )

        return {slug: gateway.adapter(slug) for slug in providers}, call
