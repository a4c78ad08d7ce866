"""The gateway end to end against the sandbox: cache, credentials, pending retries, breaker, limiter."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
from morket_sandbox import SandboxServer
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.credentials.schemas import CredentialCreate
from morket.credentials.service import CredentialService
from morket.devstack.ports import free_port
from morket.models import ProviderResponseCache
from morket.providers.base import (
    Operation,
    Outcome,
    ProviderCredential,
    ProviderResult,
    RateLimitWindow,
)
from morket.providers.breaker import BreakerConfig, BreakerState, InMemoryCircuitBreaker
from morket.providers.fields import CompanyFields
from morket.providers.gateway import ProviderGateway
from morket.providers.hunter import HunterAdapter
from morket.providers.registry import REGISTRY
from morket.providers.service import CachePolicy
from tests.conftest import make_settings
from tests.providers.conftest import REDIS_URL, SANDBOX_KEY, SetFaults, WorkspaceFactory, needs_redis, sandbox_calls
from tests.providers.helpers import find, people

CACHE = CachePolicy(enabled=True, ttl=timedelta(days=30))
NO_CACHE = CachePolicy.disabled()


async def hunter_hit(gateway: ProviderGateway, http: httpx.AsyncClient) -> dict[str, Any]:
    inputs, _ = await find(gateway.adapter("hunter"), "email_finder", people(), Outcome.SUCCESS, SANDBOX_KEY, http)
    return inputs


async def test_gateway_uses_sandbox_urls_from_settings(
    gateway: ProviderGateway, provider_sandbox: SandboxServer
) -> None:
    assert gateway.adapter("apollo").base_url == f"{provider_sandbox.url}/apollo/api/v1"
    assert gateway.adapter("clearbit").base_url == f"{provider_sandbox.url}/clearbit"
    assert gateway.adapter("hunter").base_url == f"{provider_sandbox.url}/hunter/v2"
    real = ProviderGateway(make_settings("postgresql://unused/db", hunter_base_url="https://hunter.example/v2"))
    try:
        assert real.adapter("hunter").base_url == "https://hunter.example/v2"
        assert real.adapter("apollo").base_url == "https://api.apollo.io/api/v1"
    finally:
        await real.aclose()


async def test_field_lookup_then_cache_hit_is_free(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sandbox_admin: httpx.AsyncClient,
) -> None:
    workspace = await workspace_factory()
    inputs = await hunter_hit(gateway, http)
    (await sandbox_admin.post("/_admin/reset")).raise_for_status()
    first = await gateway.enrich(workspace, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE)
    assert first.outcome is Outcome.SUCCESS and first.operation == "email_finder"
    assert first.cost == 1 and not first.cached
    # The same request spelled differently is the same cache entry.
    respelled = {**inputs, "domain": f"https://WWW.{inputs['domain']}/team", "first_name": f"  {inputs['first_name']} "}
    second = await gateway.enrich(workspace, "hunter", "email", respelled, credential=SANDBOX_KEY, cache=CACHE)
    assert second.outcome is Outcome.SUCCESS and second.cached and second.cost == 0
    assert second.fields == first.fields and second.raw == first.raw
    assert await sandbox_calls(sandbox_admin, "hunter") == {"200": 1}


async def test_cache_is_per_workspace_and_can_be_disabled(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sandbox_admin: httpx.AsyncClient,
) -> None:
    one, two = await workspace_factory(), await workspace_factory()
    inputs = await hunter_hit(gateway, http)
    (await sandbox_admin.post("/_admin/reset")).raise_for_status()
    await gateway.enrich(one, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE)
    other = await gateway.enrich(two, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE)
    assert not other.cached and other.cost == 1
    fresh = await gateway.enrich(one, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=NO_CACHE)
    assert not fresh.cached and fresh.cost == 1
    assert await sandbox_calls(sandbox_admin, "hunter") == {"200": 3}


async def test_only_answers_about_the_data_are_cached(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    workspace = await workspace_factory()
    miss, _ = await find(gateway.adapter("hunter"), "email_finder", people(), Outcome.NO_MATCH, SANDBOX_KEY, http)
    assert (await gateway.enrich(workspace, "hunter", "email", miss, credential=SANDBOX_KEY, cache=CACHE)).outcome is (
        Outcome.NO_MATCH
    )
    cached_miss = await gateway.enrich(workspace, "hunter", "email", miss, credential=SANDBOX_KEY, cache=CACHE)
    assert cached_miss.outcome is Outcome.NO_MATCH and cached_miss.cached
    wrong = ProviderCredential(api_key="wrong")
    inputs = {"domain": "acme.com"}
    for _ in range(2):
        result = await gateway.enrich(workspace, "apollo", "organization_enrich", inputs, credential=wrong, cache=CACHE)
        assert result.outcome is Outcome.AUTH_FAILED and not result.cached
    async with unit_of_work(sessions) as session:
        outcomes = (await session.execute(text("SELECT outcome FROM provider_response_cache"))).scalars().all()
    assert outcomes == ["no_match"]


async def test_expired_entries_are_not_served(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    workspace = await workspace_factory()
    inputs = await hunter_hit(gateway, http)
    await gateway.enrich(workspace, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE)
    async with unit_of_work(sessions) as session:
        await session.execute(update(ProviderResponseCache).values(expires_at=ProviderResponseCache.created_at))
    again = await gateway.enrich(workspace, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE)
    assert not again.cached and again.cost == 1


async def test_workspace_cache_settings_apply_when_no_policy_is_passed(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    provider_settings: Settings,
) -> None:
    from morket.providers.schemas import ProviderSettingsUpdate
    from morket.providers.service import ProviderSettingsService

    workspace = await workspace_factory()
    assert await gateway.cache_policy(workspace) == CACHE
    async with unit_of_work(sessions) as session:
        await ProviderSettingsService(session, provider_settings).update(
            workspace, ProviderSettingsUpdate(cache_enabled=False, cache_ttl_seconds=3600)
        )
    assert await gateway.cache_policy(workspace) == CachePolicy(enabled=False, ttl=timedelta(hours=1))
    inputs = await hunter_hit(gateway, http)
    for _ in range(2):
        result = await gateway.enrich(workspace, "hunter", "email", inputs, credential=SANDBOX_KEY)
        assert not result.cached and result.cost == 1


async def test_concurrent_identical_requests_pay_once(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    http: httpx.AsyncClient,
    sandbox_admin: httpx.AsyncClient,
    set_faults: SetFaults,
) -> None:
    workspace = await workspace_factory()
    inputs = await hunter_hit(gateway, http)
    (await sandbox_admin.post("/_admin/reset")).raise_for_status()
    await set_faults(hunter={"latency_ms": 150})
    results = await asyncio.gather(
        *(gateway.enrich(workspace, "hunter", "email", inputs, credential=SANDBOX_KEY, cache=CACHE) for _ in range(5))
    )
    assert sum(r.cost for r in results) == 1 and sum(r.cached for r in results) == 4
    assert await sandbox_calls(sandbox_admin, "hunter") == {"200": 1}


async def test_credentials_come_from_the_vault(
    gateway: ProviderGateway,
    workspace_factory: WorkspaceFactory,
    sessions: async_sessionmaker[AsyncSession],
    provider_settings: Settings,
) -> None:
    workspace = await workspace_factory()
    sandbox_fallback = await gateway.resolve_credential(workspace, "apollo")
    assert sandbox_fallback is not None and sandbox_fallback.api_key == provider_settings.provider_sandbox_key
    async with unit_of_work(sessions) as session:
        await CredentialService(session, provider_settings).create(
            workspace, None, CredentialCreate(provider="apollo", api_key="stored-but-wrong-key", name="apollo")
        )
    stored = await gateway.resolve_credential(workspace, "apollo")
    assert stored is not None and stored.api_key == "stored-but-wrong-key"
    result = await gateway.enrich(workspace, "apollo", "company_name", {"domain": "acme.com"}, cache=NO_CACHE)
    assert result.outcome is Outcome.AUTH_FAILED  # the vault's key was used, not the sandbox key


async def test_production_without_a_key_is_credential_missing(
    database_url: str,
    provider_sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
    workspace_factory: WorkspaceFactory,
    sandbox_admin: httpx.AsyncClient,
) -> None:
    workspace = await workspace_factory()
    # Production settings refuse a sandbox URL at start-up; this checks the gateway's own rule
    # (no sandbox key outside development/test) behind that, so the copy skips validation.
    settings = make_settings(database_url, provider_sandbox_url=provider_sandbox.url).model_copy(
        update={"morket_env": "production"}
    )
    async with ProviderGateway(settings, sessions) as gateway:
        assert await gateway.resolve_credential(workspace, "hunter") is None
        result = await gateway.enrich(workspace, "hunter", "email_verifier", {"email": "jane@acme.com"})
        assert result.outcome is Outcome.CREDENTIAL_MISSING and result.cost == 0
        assert result.error and "Hunter" in result.error
        passed_none = await gateway.enrich(workspace, "hunter", "email_verifier", {"email": "a@b.co"}, credential=None)
        assert passed_none.outcome is Outcome.CREDENTIAL_MISSING
    assert await sandbox_calls(sandbox_admin, "hunter") == {}


async def test_invalid_input_and_unknown_targets(gateway: ProviderGateway) -> None:
    workspace = uuid.uuid4()
    result = await gateway.enrich(
        workspace, "hunter", "email", {"first_name": "Jane"}, credential=SANDBOX_KEY, cache=NO_CACHE
    )
    assert result.outcome is Outcome.INVALID_INPUT and "domain" in (result.error or "")
    with pytest.raises(KeyError):
        await gateway.enrich(workspace, "hunter", "industry", {"domain": "acme.com"}, credential=SANDBOX_KEY)
    with pytest.raises(KeyError):
        await gateway.enrich(workspace, "nope", "email", {}, credential=SANDBOX_KEY)


async def test_pending_is_retried_inside_the_gateway(
    gateway: ProviderGateway, set_faults: SetFaults, sandbox_admin: httpx.AsyncClient
) -> None:
    await set_faults(clearbit={"pending_rounds": 2}, hunter={"pending_rounds": 10})
    company = await gateway.enrich(
        uuid.uuid4(), "clearbit", "company_find", {"domain": "acme.com"}, credential=SANDBOX_KEY, cache=NO_CACHE
    )
    assert company.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)
    assert (await sandbox_calls(sandbox_admin, "clearbit"))["202"] == 2
    still = await gateway.enrich(
        uuid.uuid4(), "hunter", "email_verifier", {"email": "jane@acme.com"}, credential=SANDBOX_KEY, cache=NO_CACHE
    )
    assert still.outcome is Outcome.PENDING and still.cost == 0
    assert await sandbox_calls(sandbox_admin, "hunter") == {"202": 4}  # one call and three retries


async def test_breaker_opens_under_failures_and_recovers(
    provider_settings: Settings, set_faults: SetFaults, sandbox_admin: httpx.AsyncClient
) -> None:
    now = [0.0]
    breakers: dict[str, InMemoryCircuitBreaker] = {}

    def breaker_for(slug: str) -> InMemoryCircuitBreaker:
        breakers[slug] = InMemoryCircuitBreaker(BreakerConfig(), clock=lambda: now[0])
        return breakers[slug]

    async with ProviderGateway(provider_settings, None, breaker_factory=breaker_for) as gateway:

        async def verify() -> ProviderResult:
            return await gateway.call("hunter", "email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY)

        await set_faults(hunter={"error_rate": 1.0})
        failures = [await verify() for _ in range(5)]
        assert all(r.outcome is Outcome.TRANSIENT_ERROR and r.error_code == "provider_error" for r in failures)
        assert (await breakers["hunter"].snapshot()).state is BreakerState.OPEN
        refused = await verify()
        assert refused.outcome is Outcome.TRANSIENT_ERROR and refused.error_code == "circuit_open"
        assert refused.retry_after == pytest.approx(60.0) and refused.http_status is None
        calls = await sandbox_calls(sandbox_admin, "hunter")
        assert sum(calls.values()) == 5  # the refused call never left the process
        # Other providers are not affected.
        other = await gateway.call("clearbit", "company_find", {"domain": "acme.com"}, SANDBOX_KEY)
        assert other.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)

        await set_faults(hunter={"error_rate": 0.0})
        now[0] = 60.0
        probe = await verify()
        assert probe.outcome is Outcome.SUCCESS
        assert (await breakers["hunter"].snapshot()).state is BreakerState.CLOSED


async def test_non_transient_outcomes_do_not_trip_the_breaker(gateway: ProviderGateway) -> None:
    wrong = ProviderCredential(api_key="wrong")
    for _ in range(8):
        result = await gateway.call("hunter", "email_verifier", {"email": "jane@acme.com"}, wrong)
        assert result.outcome is Outcome.AUTH_FAILED
    assert (await gateway.breaker("hunter").snapshot()).state is BreakerState.CLOSED


async def test_limiter_keeps_concurrent_calls_under_the_provider_limit(
    database_url: str, provider_sandbox: SandboxServer, set_faults: SetFaults, sandbox_admin: httpx.AsyncClient
) -> None:
    await set_faults(hunter={"rate_limit_per_second": 10})
    settings = make_settings(
        database_url, provider_sandbox_url=provider_sandbox.url, provider_rate_limits={"hunter": [[10, 1.0]]}
    )
    async with ProviderGateway(settings, None) as gateway:
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(
            *(gateway.call("hunter", "email_verifier", {"email": f"p{n}@acme.com"}, SANDBOX_KEY) for n in range(25))
        )
        elapsed = loop.time() - start
    assert all(r.outcome is Outcome.SUCCESS for r in results)
    assert await sandbox_calls(sandbox_admin, "hunter") == {"200": 25}  # not a single 403
    assert elapsed >= 2.0  # 25 calls at 10 per second: three windows


async def test_a_provider_429_is_learned_and_waited_out(
    database_url: str, provider_sandbox: SandboxServer, set_faults: SetFaults, sandbox_admin: httpx.AsyncClient
) -> None:
    # Our limits say 1000/s but the key only gets 1/s: the first 429 teaches the limiter.
    await set_faults(clearbit={"rate_limit_per_second": 1})
    settings = make_settings(
        database_url, provider_sandbox_url=provider_sandbox.url, provider_rate_limits={"clearbit": [[1000, 1.0]]}
    )
    async with ProviderGateway(settings, None) as gateway:
        results = [
            await gateway.call("clearbit", "company_find", {"domain": "acme.com"}, SANDBOX_KEY) for _ in range(3)
        ]
    assert all(r.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH) for r in results)
    calls = await sandbox_calls(sandbox_admin, "clearbit")
    assert calls.get("429", 0) <= 2 and sum(v for k, v in calls.items() if k != "429") == 3


async def test_a_key_too_far_over_its_limit_is_rate_limited_without_waiting(
    database_url: str, provider_sandbox: SandboxServer
) -> None:
    settings = make_settings(
        database_url,
        provider_sandbox_url=provider_sandbox.url,
        provider_rate_limits={"hunter": [[1, 60.0]]},
        provider_max_rate_wait_seconds=1.0,
    )
    async with ProviderGateway(settings, None) as gateway:
        first = await gateway.call("hunter", "email_verifier", {"email": "a@acme.com"}, SANDBOX_KEY)
        second = await gateway.call("hunter", "email_verifier", {"email": "b@acme.com"}, SANDBOX_KEY)
        other_key = await gateway.call("hunter", "email_verifier", {"email": "b@acme.com"}, ProviderCredential("k2"))
    assert first.outcome is Outcome.SUCCESS
    assert second.outcome is Outcome.RATE_LIMITED and second.error_code == "local_rate_limit"
    assert second.retry_after is not None and second.retry_after > 59
    assert other_key.outcome is Outcome.AUTH_FAILED  # a different key has its own budget (and is not valid)


async def test_a_credential_can_carry_its_own_plan_limits(gateway: ProviderGateway) -> None:
    hunter = gateway.adapter("hunter")
    own = ProviderCredential(api_key="k", extra={"rate_limits": [[3, 1], [100, 60]]})
    assert gateway.rate_limits(hunter, own) == (RateLimitWindow(3, 1.0), RateLimitWindow(100, 60.0))
    assert gateway.rate_limits(hunter, SANDBOX_KEY) == HunterAdapter.rate_limits
    broken = ProviderCredential(api_key="k", extra={"rate_limits": [["x"]]})
    assert gateway.rate_limits(hunter, broken) == HunterAdapter.rate_limits


class _WrongShapeAdapter(HunterAdapter):
    """Answers with a field the output model refuses (a negative head count)."""

    OPERATION = Operation(
        name="company",
        description="test",
        input_model=REGISTRY["apollo"].operations[1].input_model,
        output_model=CompanyFields,
        requires=REGISTRY["apollo"].operations[1].requires,
        cost=1,
    )
    operations: ClassVar[tuple[Operation, ...]] = (OPERATION,)

    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        return self.result(operation, Outcome.SUCCESS, fields={"employee_count": -5}, raw={"n": -5})


async def test_output_validation_turns_bad_fields_into_a_transient_error(provider_settings: Settings) -> None:
    async with ProviderGateway(provider_settings, None, adapters={"hunter": _WrongShapeAdapter("http://unused")}) as gw:
        result = await gw.call("hunter", "company", {"domain": "acme.com"}, SANDBOX_KEY)
    assert result.outcome is Outcome.TRANSIENT_ERROR and result.error_code == "invalid_response"
    assert result.cost == 0 and result.raw == {"n": -5}


@needs_redis
async def test_redis_backed_gateways_share_the_breaker(
    database_url: str, provider_sandbox: SandboxServer, set_faults: SetFaults
) -> None:
    settings = make_settings(database_url, provider_sandbox_url=provider_sandbox.url, redis_url=REDIS_URL)
    async with ProviderGateway.from_settings(settings) as first, ProviderGateway.from_settings(settings) as second:
        await first.breaker("hunter").reset()
        try:
            await set_faults(hunter={"error_rate": 1.0})
            for gateway in (first, second, first, second, first):
                failed = await gateway.call("hunter", "email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY)
                assert failed.outcome is Outcome.TRANSIENT_ERROR and failed.error_code == "provider_error"
            refused = await second.call("hunter", "email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY)
            assert refused.error_code == "circuit_open"
        finally:
            await first.breaker("hunter").reset()


async def test_unreachable_redis_fails_safe(database_url: str, provider_sandbox: SandboxServer) -> None:
    settings = make_settings(
        database_url, provider_sandbox_url=provider_sandbox.url, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    async with ProviderGateway.from_settings(settings) as gateway:
        result = await gateway.call("hunter", "email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY)
    assert result.outcome is Outcome.TRANSIENT_ERROR and result.error_code == "protection_unavailable"
