"""The one way to call a provider: cache -> circuit breaker -> rate limiter -> adapter -> validation.

One `ProviderGateway` per process (API or worker). It owns the pooled HTTP client, a breaker per
provider and the per-key limiter; with REDIS_URL set, breakers and limiters live in Redis and
are shared by every process.

    gateway = ProviderGateway.from_settings(settings, sessions)
    result = await gateway.enrich(workspace_id, "hunter", "email", {"first_name": ..., "domain": ...})
    ...
    await gateway.aclose()
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.providers.base import (
    InvalidInput,
    Operation,
    Outcome,
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    request_fingerprint,
)
from morket.providers.breaker import (
    BreakerConfig,
    CircuitBreaker,
    CircuitOpen,
    InMemoryCircuitBreaker,
    RedisCircuitBreaker,
)
from morket.providers.limiter import InMemoryProviderLimiter, ProviderLimiter, RedisProviderLimiter, WaitTooLong
from morket.providers.registry import REGISTRY, UnknownProvider
from morket.providers.service import CachePolicy, ProviderSettingsService, ResponseCacheService
from morket.providers.transport import provider_http_client

log = logging.getLogger("morket.providers")

# The longest a pending lookup may ask us to wait between rounds inside one gateway call.
_MAX_PENDING_WAIT = 5.0
_LOCAL_ENVIRONMENTS = ("development", "test")


class _FromVault(Enum):
    FROM_VAULT = "from_vault"


# `enrich(credential=FROM_VAULT)` (the default) looks the key up; pass a key you resolved once per
# chunk with `resolve_credential` to save the query, or None when that found none.
FROM_VAULT = _FromVault.FROM_VAULT


def base_url_for(settings: Settings, adapter: type[ProviderAdapter] | ProviderAdapter) -> str:
    """APOLLO_BASE_URL (etc.) if set; else the sandbox when PROVIDER_SANDBOX_URL is set; else the real host."""
    explicit = getattr(settings, adapter.url_setting or f"{adapter.slug}_base_url", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    if settings.provider_sandbox_url and adapter.url_setting is None:
        return settings.provider_sandbox_url.rstrip("/") + adapter.sandbox_path
    return adapter.default_base_url


@dataclass
class GatewayStats:
    """Counters since start-up, for logs and benchmarks."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    http_calls: Counter[str] = field(default_factory=Counter)
    # Calls the provider refused for rate (a 429, or Hunter's 403): the limiter should keep this at 0.
    throttled: Counter[str] = field(default_factory=Counter)
    cache_hits: Counter[str] = field(default_factory=Counter)
    rate_wait_seconds: float = 0.0


class ProviderGateway:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: ProviderLimiter | None = None,
        breaker_factory: Callable[[str], CircuitBreaker] | None = None,
        adapters: Mapping[str, ProviderAdapter] | None = None,
        redis: Redis | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._owns_http = http is None
        self.http = http or provider_http_client(settings.provider_timeout_seconds, max_connections=200)
        self._redis = redis
        if limiter is None:
            limiter = RedisProviderLimiter(redis) if redis is not None else InMemoryProviderLimiter()
        self.limiter = limiter
        if breaker_factory is None:
            config = BreakerConfig()
            breaker_factory = (
                (lambda slug: RedisCircuitBreaker(redis, slug, config))
                if redis is not None
                else (lambda _slug: InMemoryCircuitBreaker(config))
            )
        self._breaker_factory = breaker_factory
        self._breakers: dict[str, CircuitBreaker] = {}
        source = adapters if adapters is not None else REGISTRY
        self.adapters: dict[str, ProviderAdapter] = {
            slug: type(adapter)(base_url_for(settings, adapter)) if adapters is None else adapter
            for slug, adapter in source.items()
        }
        self._windows: dict[str, tuple[RateLimitWindow, ...]] = {
            slug: tuple(RateLimitWindow(int(limit), float(period)) for limit, period in windows)
            for slug, windows in settings.provider_rate_limits.items()
        }
        self._sleep = sleep
        self._inflight: dict[tuple[uuid.UUID, str], asyncio.Future[ProviderResult]] = {}
        self.stats = GatewayStats()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None
    ) -> ProviderGateway:
        """The process's gateway: Redis-backed protection when REDIS_URL is set, in-process otherwise."""
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        return cls(settings, sessions, redis=redis)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def __aenter__(self) -> ProviderGateway:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- lookups ----------------------------------------------------------------------------

    def adapter(self, slug: str) -> ProviderAdapter:
        try:
            return self.adapters[slug]
        except KeyError:
            raise UnknownProvider(slug) from None

    def rate_limits(self, adapter: ProviderAdapter, credential: ProviderCredential) -> tuple[RateLimitWindow, ...]:
        """The windows a key is paced at: the key's own (credential extra "rate_limits": [[calls, seconds]]),
        else PROVIDER_RATE_LIMITS, else the provider's documented limits."""
        own = credential.extra.get("rate_limits") if credential.extra else None
        if isinstance(own, list) and own:
            try:
                windows = tuple(RateLimitWindow(int(limit), float(period)) for limit, period in own)
            except (TypeError, ValueError):
                windows = ()
            if windows and all(w.limit >= 1 and w.period > 0 for w in windows):
                return windows
        return self._windows.get(adapter.slug) or adapter.rate_limits

    def breaker(self, slug: str) -> CircuitBreaker:
        breaker = self._breakers.get(slug)
        if breaker is None:
            breaker = self._breakers[slug] = self._breaker_factory(slug)
        return breaker

    async def resolve_credential(self, workspace_id: uuid.UUID, provider: str) -> ProviderCredential | None:
        """The workspace's vault key for `provider`; in development and test, the sandbox key when there is none."""
        if self.adapter(provider).service_credential:
            key = self.settings.service_api_key
            return ProviderCredential(api_key=key, credential_id="service") if key else None
        if self.sessions is not None:
            # Imported here: the vault module imports settings and crypto the gateway does not otherwise need.
            from morket.credentials.service import CredentialService

            async with unit_of_work(self.sessions) as session:
                stored = await CredentialService(session, self.settings).get_decrypted(workspace_id, provider)
            if stored is not None:
                return ProviderCredential(api_key=stored.api_key, extra=stored.extra, credential_id=str(stored.id))
        if self.settings.morket_env in _LOCAL_ENVIRONMENTS:
            return ProviderCredential(api_key=self.settings.provider_sandbox_key, credential_id="sandbox")
        return None

    async def cache_policy(self, workspace_id: uuid.UUID) -> CachePolicy:
        """The workspace's cache settings (defaults when it never changed them; off without a database)."""
        if self.sessions is None:
            return CachePolicy.disabled()
        async with unit_of_work(self.sessions) as session:
            return await ProviderSettingsService(session, self.settings).cache_policy(workspace_id)

    # -- calling ----------------------------------------------------------------------------

    async def enrich(
        self,
        workspace_id: uuid.UUID,
        provider: str,
        target: str,
        inputs: Mapping[str, Any],
        *,
        credential: ProviderCredential | _FromVault | None = FROM_VAULT,
        cache: CachePolicy | None = None,
    ) -> ProviderResult:
        """Look up `target` (a canonical field such as "email", or an operation name) for one record.

        `credential`: FROM_VAULT (default) resolves the workspace's key here (with the sandbox key
        in development and test); pass what `resolve_credential` returned once per chunk to save
        the query (None then means "no key": the result is credential_missing). `cache`: the
        workspace's policy from `cache_policy`, to save a query per call; None reads it here.
        Never raises for provider trouble; raises UnknownProvider, or KeyError when the provider
        neither has the operation nor supplies the field.
        """
        adapter = self.adapter(provider)
        try:
            operation = adapter.resolve(target, inputs)
            canonical = adapter.validate(operation, inputs)
        except InvalidInput as exc:
            fallback = adapter.operation(target) or adapter.operations_for(target)[0]
            return self._count(
                adapter.result(fallback, Outcome.INVALID_INPUT, error=str(exc), error_code="invalid_input", raw=None)
            )
        policy = cache if cache is not None else await self.cache_policy(workspace_id)
        if policy.enabled and self.sessions is not None:
            request_hash = request_fingerprint(adapter.slug, operation.name, canonical)
            hit = await self._cached(workspace_id, adapter.slug, operation.name, request_hash)
            if hit is not None:
                self.stats.cache_hits[adapter.slug] += 1
                return self._count(hit)
            flight = (workspace_id, request_hash)
            leader = self._inflight.get(flight)
            if leader is not None:
                # The same request is on the wire for this workspace: share its answer, pay once.
                await asyncio.wait([leader])
                if not leader.cancelled() and leader.result().outcome.cacheable:
                    return self._count(leader.result().model_copy(update={"cached": True, "cost": 0}))
            future: asyncio.Future[ProviderResult] = asyncio.get_running_loop().create_future()
            self._inflight[flight] = future
            try:
                result = await self._call(workspace_id, adapter, operation, canonical, credential)
                future.set_result(result)
            finally:
                if not future.done():
                    future.cancel()  # followers then make their own call
                self._inflight.pop(flight, None)
            if result.outcome.cacheable:
                await self._store(workspace_id, request_hash, result, policy)
            return self._count(result)
        return self._count(await self._call(workspace_id, adapter, operation, canonical, credential))

    async def call(
        self, provider: str, operation: str, inputs: Mapping[str, Any], credential: ProviderCredential
    ) -> ProviderResult:
        """A protected call without a workspace (no cache, no vault): breaker, limiter, adapter, validation."""
        adapter = self.adapter(provider)
        op = adapter.operation(operation)
        if op is None:
            raise KeyError(f"{provider} has no operation '{operation}'")
        try:
            canonical = adapter.validate(op, inputs)
        except InvalidInput as exc:
            return self._count(adapter.result(op, Outcome.INVALID_INPUT, error=str(exc), error_code="invalid_input"))
        return self._count(await self._protected(adapter, op, canonical, credential))

    async def _call(
        self,
        workspace_id: uuid.UUID,
        adapter: ProviderAdapter,
        operation: Operation,
        canonical: dict[str, Any],
        credential: ProviderCredential | _FromVault | None,
    ) -> ProviderResult:
        if credential is FROM_VAULT:
            credential = await self.resolve_credential(workspace_id, adapter.slug)
        if credential is None:
            return adapter.result(
                operation,
                Outcome.CREDENTIAL_MISSING,
                error=f"No {adapter.name} API key is stored for this workspace; add one under credentials.",
                error_code="credential_missing",
            )
        return await self._protected(adapter, operation, canonical, credential)

    async def _protected(
        self, adapter: ProviderAdapter, operation: Operation, canonical: dict[str, Any], credential: ProviderCredential
    ) -> ProviderResult:
        """Breaker and limiter around each attempt; pending and throttled answers are retried a little."""
        pending_rounds = 0
        throttled_rounds = 0
        while True:
            result = await self._attempt(adapter, operation, canonical, credential)
            if result.outcome is Outcome.PENDING and pending_rounds < self.settings.provider_pending_retries:
                delay = self.settings.provider_pending_backoff_seconds * (2**pending_rounds)
                if result.retry_after is not None:
                    delay = max(delay, result.retry_after)
                if delay <= _MAX_PENDING_WAIT:
                    pending_rounds += 1
                    await self._sleep(delay)
                    continue
            if result.outcome is Outcome.RATE_LIMITED and result.http_status is not None and throttled_rounds < 1:
                # The limiter has learned the block; one more go through it waits it out (or gives up).
                throttled_rounds += 1
                continue
            return result

    async def _attempt(
        self, adapter: ProviderAdapter, operation: Operation, canonical: dict[str, Any], credential: ProviderCredential
    ) -> ProviderResult:
        breaker = self.breaker(adapter.slug)
        limit_key = f"{adapter.slug}:{credential.fingerprint}"
        windows = self.rate_limits(adapter, credential)
        try:
            permit = await breaker.acquire()
            waited = await self.limiter.acquire(
                limit_key, windows, max_wait=self.settings.provider_max_rate_wait_seconds
            )
        except CircuitOpen as exc:
            return adapter.result(
                operation,
                Outcome.TRANSIENT_ERROR,
                error=f"{adapter.name} is failing; calls are paused ({exc.state.value})",
                error_code="circuit_open",
                retry_after=exc.retry_after,
            )
        except WaitTooLong as exc:
            # A probe permit given out just before is not returned; the breaker frees it after probe_timeout.
            return adapter.result(
                operation,
                Outcome.RATE_LIMITED,
                error=f"{adapter.name} rate limit for this key is used up",
                error_code="local_rate_limit",
                retry_after=exc.retry_after,
            )
        except RedisError:
            # Without the shared breaker and limiter we cannot call safely; nothing was spent yet.
            log.exception("provider protection unavailable", extra={"provider": adapter.slug})
            return adapter.result(
                operation,
                Outcome.TRANSIENT_ERROR,
                error="rate limiting and circuit breaking are unavailable (Redis)",
                error_code="protection_unavailable",
                retry_after=5.0,
            )
        self.stats.rate_wait_seconds += waited
        self.stats.http_calls[adapter.slug] += 1
        result = await adapter.send(operation, canonical, credential, self.http)
        if result.outcome is Outcome.RATE_LIMITED and result.http_status is not None:
            self.stats.throttled[adapter.slug] += 1
        if result.outcome is Outcome.SUCCESS:
            result = self._validated(adapter, operation, result)
        try:
            await breaker.record(permit, failure=result.outcome is Outcome.TRANSIENT_ERROR)
            if result.rate_limit is not None:
                feedback = result.rate_limit
                if adapter.slug in self._windows:
                    # Operator-set limits (PROVIDER_RATE_LIMITS) replace what the provider advertises
                    # about its plans; a 429's Retry-After still blocks the key.
                    feedback = RateLimitFeedback(retry_after=feedback.retry_after)
                await self.limiter.learn(limit_key, windows, feedback)
        except RedisError:
            # The answer may be paid for: return it; the breaker only misses one data point.
            log.exception("could not record a provider outcome", extra={"provider": adapter.slug})
        if result.outcome not in (Outcome.SUCCESS, Outcome.NO_MATCH):
            log.info(
                "provider call",
                extra={
                    "provider": adapter.slug,
                    "operation": operation.name,
                    "outcome": result.outcome.value,
                    "error_code": result.error_code,
                    "http_status": result.http_status,
                },
            )
        return result

    @staticmethod
    def _validated(adapter: ProviderAdapter, operation: Operation, result: ProviderResult) -> ProviderResult:
        try:
            fields = operation.output_model.model_validate(result.fields).model_dump(mode="json", exclude_none=True)
        except ValidationError as exc:
            return adapter.result(
                operation,
                Outcome.TRANSIENT_ERROR,
                raw=result.raw,
                error=f"{adapter.name} answered with fields we cannot use: {exc.errors()[0]['msg']}",
                error_code="invalid_response",
                http_status=result.http_status,
            )
        return result.model_copy(update={"fields": fields})

    async def _cached(
        self, workspace_id: uuid.UUID, provider: str, operation: str, request_hash: str
    ) -> ProviderResult | None:
        assert self.sessions is not None
        async with unit_of_work(self.sessions) as session:
            return await ResponseCacheService(session).lookup(workspace_id, provider, operation, request_hash)

    async def _store(
        self, workspace_id: uuid.UUID, request_hash: str, result: ProviderResult, policy: CachePolicy
    ) -> None:
        assert self.sessions is not None
        try:
            async with unit_of_work(self.sessions) as session:
                await ResponseCacheService(session).store(workspace_id, request_hash, result, policy.ttl)
        except Exception:
            # The answer is paid for and correct; losing its cache entry only costs a later call.
            log.exception("could not cache a provider response", extra={"provider": result.provider})

    def _count(self, result: ProviderResult) -> ProviderResult:
        self.stats.outcomes[(result.provider, result.outcome.value)] += 1
        return result
