"""Fault injection through the admin API and SandboxConfig, and the stats it is measured with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from morket_sandbox import SANDBOX_API_KEY, FaultConfig, FaultSettings, Provider, SandboxConfig, SandboxServer

from .conftest import AsgiClientFactory

APOLLO_MATCH = "/apollo/api/v1/people/match"
APOLLO_AUTH = {"x-api-key": SANDBOX_API_KEY}


def apollo_statuses(client: httpx.Client, count: int) -> list[int]:
    return [
        client.post(APOLLO_MATCH, json={"email": f"p{n}@acme.com"}, headers=APOLLO_AUTH).status_code
        for n in range(count)
    ]


def test_get_and_put_faults(sandbox_http: httpx.Client) -> None:
    assert sandbox_http.get("/_admin/faults").json()["providers"] == {}
    new = {"default": {"latency_ms": 5}, "providers": {"apollo": {"error_rate": 0.5, "seed": 7}}}
    put = sandbox_http.put("/_admin/faults", json=new)
    assert put.status_code == 200
    current = sandbox_http.get("/_admin/faults").json()
    assert current["default"]["latency_ms"] == 5
    assert current["providers"]["apollo"]["error_rate"] == 0.5
    assert current["providers"]["apollo"]["seed"] == 7


@pytest.mark.parametrize(
    "body",
    [
        {"default": {"error_rate": 1.5}},
        {"providers": {"nope": {"error_rate": 0.1}}},
        {"default": {"latency": 10}},
        {"default": {"pending_rounds": -1}},
    ],
)
def test_invalid_faults_are_rejected(sandbox_http: httpx.Client, body: dict[str, object]) -> None:
    assert sandbox_http.put("/_admin/faults", json=body).status_code == 422
    assert sandbox_http.get("/_admin/faults").json()["default"]["error_rate"] is None


def test_error_rate_one_fails_every_request_with_5xx(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"default": {"error_rate": 1.0}}).raise_for_status()
    statuses = apollo_statuses(sandbox_http, 30)
    assert set(statuses) <= {500, 502, 503}
    assert 500 in statuses
    gateway = next(
        r
        for r in (sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH) for _ in range(50))
        if r.status_code != 500
    )
    # Load balancer errors are HTML even on a JSON API.
    assert gateway.headers["content-type"].startswith("text/html")
    hunter = sandbox_http.get("/hunter/v2/email-verifier", params={"email": "a@b.com", "api_key": SANDBOX_API_KEY})
    assert hunter.status_code >= 500
    # The admin API is never faulted.
    assert sandbox_http.get("/_admin/stats").status_code == 200


def test_error_rate_is_seeded_and_proportional(sandbox_http: httpx.Client) -> None:
    faults = {"providers": {"apollo": {"error_rate": 0.3, "seed": 42}}}
    sandbox_http.put("/_admin/faults", json=faults).raise_for_status()
    first = apollo_statuses(sandbox_http, 300)
    sandbox_http.put("/_admin/faults", json=faults).raise_for_status()
    second = apollo_statuses(sandbox_http, 300)
    assert first == second
    failures = sum(status >= 500 for status in first) / len(first)
    assert 0.22 <= failures <= 0.38
    sandbox_http.put(
        "/_admin/faults", json={"providers": {"apollo": {"error_rate": 0.3, "seed": 43}}}
    ).raise_for_status()
    assert apollo_statuses(sandbox_http, 300) != first


def test_rate_429_uses_the_provider_shape_and_retry_after(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"apollo": {"rate_429": 0.5}}}).raise_for_status()
    responses = [sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH) for _ in range(200)]
    limited = [r for r in responses if r.status_code == 429]
    assert 70 <= len(limited) <= 130
    assert all(r.status_code == 200 for r in responses if r not in limited)
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].json()["message"].startswith("The maximum number of api calls allowed for api/v1/people/match")


def test_latency_is_applied_per_provider(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"apollo": {"latency_ms": 200}}}).raise_for_status()

    def timed(send: Callable[[], httpx.Response]) -> float:
        started = time.perf_counter()
        send()
        return time.perf_counter() - started

    slow = timed(lambda: sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH))
    # The best of three, so a busy machine does not fail the test.
    fast = min(
        timed(
            lambda: sandbox_http.get(
                "/hunter/v2/email-verifier", params={"email": "a@b.com", "api_key": SANDBOX_API_KEY}
            )
        )
        for _ in range(3)
    )
    assert slow >= 0.2
    assert fast < 0.2


def test_rate_limit_per_second_limits_then_recovers(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"apollo": {"rate_limit_per_second": 5}}}).raise_for_status()
    started = time.monotonic()
    statuses = apollo_statuses(sandbox_http, 40)
    elapsed = time.monotonic() - started
    allowed = statuses.count(200)
    # A burst of `rate` tokens, plus whatever refilled while the loop ran.
    assert 5 <= allowed <= 5 + int(5 * elapsed) + 1
    assert statuses.count(429) == 40 - allowed
    limited = sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)
    assert limited.status_code == 429
    assert "per minute" in limited.json()["message"]
    assert int(limited.headers["retry-after"]) >= 1
    time.sleep(0.5)
    assert sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH).status_code == 200


async def test_rate_limit_holds_under_concurrency(sandbox_server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox_server.url) as client:
        await client.post("/_admin/reset")
        await client.put("/_admin/faults", json={"providers": {"clearbit": {"rate_limit_per_second": 10}}})
        started = time.monotonic()
        responses = await asyncio.gather(
            *(
                client.get("/clearbit/v2/companies/find", params={"domain": f"c{n}.com"}, auth=(SANDBOX_API_KEY, ""))
                for n in range(60)
            )
        )
        elapsed = time.monotonic() - started
    limited = [r for r in responses if r.status_code == 429]
    assert 60 - len(limited) <= 10 + int(10 * elapsed) + 1
    assert limited
    assert limited[0].json()["error"]["type"] == "rate_limit"


async def test_rate_limit_is_per_key(asgi_sandbox: AsgiClientFactory) -> None:
    config = SandboxConfig(
        api_keys={Provider.APOLLO: ["key-a", "key-b"]},
        faults=FaultConfig(providers={Provider.APOLLO: FaultSettings(rate_limit_per_second=2)}),
    )
    async with asgi_sandbox(config) as client:
        a = [(await client.post(APOLLO_MATCH, json={}, headers={"x-api-key": "key-a"})).status_code for _ in range(6)]
        b = [(await client.post(APOLLO_MATCH, json={}, headers={"x-api-key": "key-b"})).status_code for _ in range(2)]
        sandbox_key = await client.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)
    assert a[:2] == [200, 200]
    assert a[-1] == 429
    assert b == [200, 200]
    assert sandbox_key.status_code == 401  # replaced by the configured keys


async def test_default_faults_are_inherited_and_overridable(asgi_sandbox: AsgiClientFactory) -> None:
    config = SandboxConfig(
        faults=FaultConfig(
            default=FaultSettings(error_rate=1.0),
            providers={Provider.HUNTER: FaultSettings(error_rate=0.0)},
        )
    )
    async with asgi_sandbox(config) as client:
        apollo = await client.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)
        hunter = await client.get("/hunter/v2/email-verifier", params={"email": "a@b.com", "api_key": SANDBOX_API_KEY})
        assert apollo.status_code >= 500
        assert hunter.status_code == 200
        # PUT replaces the start-up faults; reset brings them back.
        await client.put("/_admin/faults", json={})
        assert (await client.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)).status_code == 200
        await client.post("/_admin/reset")
        assert (await client.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)).status_code >= 500


async def test_auth_is_checked_before_faults(asgi_sandbox: AsgiClientFactory) -> None:
    config = SandboxConfig(faults=FaultConfig(default=FaultSettings(error_rate=1.0)))
    async with asgi_sandbox(config) as client:
        response = await client.post(APOLLO_MATCH, json={}, headers={"x-api-key": "wrong"})
    assert response.status_code == 401


def test_stats_count_by_provider_and_status(sandbox_http: httpx.Client) -> None:
    sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)
    sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH)
    sandbox_http.post(APOLLO_MATCH, json={}, headers={"x-api-key": "bad"})
    sandbox_http.get("/clearbit/v2/people/find", params={"email": "x"}, auth=(SANDBOX_API_KEY, ""))
    stats = sandbox_http.get("/_admin/stats").json()
    assert stats["providers"]["apollo"] == {"total": 3, "by_status": {"200": 2, "401": 1}}
    assert stats["providers"]["clearbit"] == {"total": 1, "by_status": {"422": 1}}
    assert stats["providers"]["hunter"] == {"total": 0, "by_status": {}}
    assert stats["total"] == 4
    sandbox_http.post("/_admin/reset")
    assert sandbox_http.get("/_admin/stats").json()["total"] == 0


def test_quota_counts_only_admitted_requests(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"apollo": {"quota": 3}}}).raise_for_status()
    assert apollo_statuses(sandbox_http, 5) == [200, 200, 200, 429, 429]
    assert "per day" in sandbox_http.post(APOLLO_MATCH, json={}, headers=APOLLO_AUTH).json()["message"]
