"""How chunk activities reach providers: the process's ProviderGateway with the workspace's keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.enrichment.waterfall import ProviderCall
from morket.providers.base import (
    Operation,
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
)
from morket.providers.gateway import ProviderGateway, base_url_for
from morket.providers.limiter import InMemoryProviderLimiter, ProviderLimiter, RedisProviderLimiter
from morket.providers.registry import REGISTRY
from morket.providers.service import CachePolicy


def parse_rate_limits(text: str) -> dict[str, tuple[RateLimitWindow, ...]]:
    """ "apollo=50/1,clearbit=600/60" -> {"apollo": (50 per 1 s,), "clearbit": (600 per 60 s,)}."""
    limits: dict[str, tuple[RateLimitWindow, ...]] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        slug, _, spec = part.partition("=")
        calls, _, period = spec.partition("/")
        try:
            window = RateLimitWindow(int(calls), float(period or 1))
        except ValueError:
            raise ValueError(f"bad rate limit '{part.strip()}', expected e.g. apollo=50/1") from None
        limits[slug.strip()] = (*limits.get(slug.strip(), ()), window)
    return limits


def tuned_adapters(
    settings: Settings, overrides: Mapping[str, tuple[RateLimitWindow, ...]]
) -> dict[str, ProviderAdapter]:
    """The registry's adapters at their configured base URLs, with the overridden rate limits."""
    adapters: dict[str, ProviderAdapter] = {}
    for slug, adapter in REGISTRY.items():
        cls = type(adapter)
        if slug in overrides:
            cls = type(f"{cls.__name__}WithLimits", (cls,), {"rate_limits": overrides[slug]})
        adapters[slug] = cls(base_url_for(settings, adapter))
    return adapters


class ConfiguredLimitsLimiter:
    """With limits set by the operator, the provider's advertised windows are not learned.

    (The sandbox advertises the real plans' per-minute/hour/day limits in its headers.) A 429's
    Retry-After still blocks the key: that is the provider saying no, not a plan description.
    """

    def __init__(self, inner: ProviderLimiter) -> None:
        self.inner = inner

    async def acquire(self, key: str, windows: Sequence[RateLimitWindow], *, max_wait: float) -> float:
        return await self.inner.acquire(key, windows, max_wait=max_wait)

    async def learn(self, key: str, windows: Sequence[RateLimitWindow], feedback: RateLimitFeedback) -> None:
        if feedback.retry_after is not None:
            await self.inner.learn(key, windows, RateLimitFeedback(retry_after=feedback.retry_after))


class GatewayProviderAccess:
    """Keys and cache policy are resolved once per chunk, not once per call."""

    def __init__(self, gateway: ProviderGateway) -> None:
        self.gateway = gateway

    @classmethod
    @asynccontextmanager
    async def create(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[GatewayProviderAccess]:
        overrides = parse_rate_limits(settings.enrichment_provider_rate_limits)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        limiter: ProviderLimiter = RedisProviderLimiter(redis) if redis is not None else InMemoryProviderLimiter()
        # As many connections as calls in flight: httpx scans its whole pool on every request, so
        # idle connections left over from a burst cost CPU on every later call.
        in_flight = settings.enrichment_parallel_chunks * settings.enrichment_record_concurrency
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight, keepalive_expiry=30.0)
        http = httpx.AsyncClient(timeout=httpx.Timeout(settings.provider_timeout_seconds), limits=limits)
        gateway = ProviderGateway(
            settings,
            sessions,
            http=http,
            redis=redis,
            adapters=tuned_adapters(settings, overrides) if overrides else None,
            limiter=ConfiguredLimitsLimiter(limiter) if overrides else limiter,
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
