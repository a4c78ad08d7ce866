"""The request path: envelope on every error, request ids, headers, CORS, rate limits, settings."""

from __future__ import annotations

import logging
import os
import secrets
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket.app import create_app
from morket.cli import api_workers
from morket.core.config import Settings, SettingsError, load_settings
from morket.core.ratelimit import ClientIpResolver, InMemoryRateLimiter, PostgresRateLimiter, RedisRateLimiter
from tests.conftest import make_settings
from tests.factories import register

pytestmark = pytest.mark.usefixtures("clean_db")


def _client(app: FastAPI, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(client_ip, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_health_reports_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["data"]["database"] == "ok"


async def test_health_503_when_database_down(database_url: str) -> None:
    broken = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    app = create_app(broken)
    async with _client(app) as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["data"]["database"] == "unavailable"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nope", 404, "not_found"),
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/api/v1/auth/login", 405, "method_not_allowed"),
        ("POST", "/api/v1/auth/login", 422, "validation_error"),
    ],
)
async def test_errors_use_the_envelope(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"success", "data", "error", "meta"}
    assert body["success"] is False and body["data"] is None and body["error"]["code"] == code


async def test_unexpected_exception_is_a_500_envelope_with_request_id(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/api/v1/_boom")
    async def boom() -> None:
        raise RuntimeError("kaboom with secret sk-live-123")

    async with _client(app) as client:
        response = await client.get("/api/v1/_boom", headers={"X-Request-Id": "req-500"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "An unexpected error occurred.",
        "details": None,
    }
    assert "sk-live-123" not in response.text
    assert response.headers["x-request-id"] == "req-500"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_request_id_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/api/v1/health", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/api/v1/health", headers={"X-Request-Id": "bad id with spaces;<script>"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_logs_are_json_with_request_id_and_no_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from morket.core.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    await client.post(
        "/api/v1/auth/register",
        json={"email": "logs@example.com", "password": "hunter2-super-secret"},
        headers={"X-Request-Id": "trace-me"},
    )
    await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer eyJ.secret.token", "X-Request-Id": "t2"})
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    access = [line for line in lines if '"logger": "morket.access"' in line]
    assert any('"request_id": "trace-me"' in line and '"status": 201' in line for line in access)
    joined = "\n".join(lines)
    assert "hunter2-super-secret" not in joined
    assert "eyJ.secret.token" not in joined


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    headers = response.headers
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]


async def test_cors_only_for_configured_origin(client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = await client.options("/api/v1/auth/login", headers={"Origin": "http://localhost:5173", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:5173"
    denied = await client.options("/api/v1/auth/login", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers


async def test_auth_endpoints_limited_to_5_per_minute_per_ip(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_auth_per_minute=5))
    async with _client(app, "10.0.0.1") as client, _client(app, "10.0.0.2") as other:
        body = {"email": "nobody@example.com", "password": "wrong-password"}
        codes = [(await client.post("/api/v1/auth/login", json=body)).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        limited = await client.post("/api/v1/auth/login", json=body)
        assert limited.json()["error"]["code"] == "rate_limited"
        # The shared (PostgreSQL) limiter estimates a sliding window from two fixed ones, so the
        # honest wait can reach past one window: never more than two.
        assert 1 <= int(limited.headers["retry-after"]) <= 120
        assert (await other.post("/api/v1/auth/login", json=body)).status_code == 401
    await app.state.engine.dispose()


async def test_general_limit_applies_to_api(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_general_per_minute=3))
    async with _client(app) as client:
        codes = [(await client.get("/api/v1/workspaces")).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert (await client.get("/api/v1/health")).status_code == 200  # probes are never limited
    await app.state.engine.dispose()


async def test_in_memory_limiter_slides() -> None:
    now = [0.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    assert all([(await limiter.hit("k", 2, 10)).allowed for _ in range(2)])
    assert not (await limiter.hit("k", 2, 10)).allowed
    now[0] = 10.01
    assert (await limiter.hit("k", 2, 10)).allowed


async def test_redis_limiter_shared_between_instances() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await redis.ping()
    except Exception:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    key = f"test-{uuid.uuid4().hex}"
    first, second = RedisRateLimiter(redis), RedisRateLimiter(redis)
    results = [await first.hit(key, 3, 60), await second.hit(key, 3, 60), await first.hit(key, 3, 60)]
    assert all(r.allowed for r in results)
    blocked = await second.hit(key, 3, 60)
    assert not blocked.allowed and blocked.retry_after > 0
    await redis.aclose()


def test_forwarded_for_only_from_trusted_proxies() -> None:
    resolver = ClientIpResolver("10.0.0.0/8")
    assert resolver.resolve("10.1.2.3", "203.0.113.7, 10.0.0.5") == "203.0.113.7"
    assert resolver.resolve("198.51.100.1", "203.0.113.7") == "198.51.100.1"  # untrusted peer: header ignored
    assert resolver.resolve("10.1.2.3", None) == "10.1.2.3"
    assert ClientIpResolver("").resolve("10.1.2.3", "1.2.3.4") == "10.1.2.3"


async def test_rate_limit_uses_forwarded_client_behind_trusted_proxy(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_auth_per_minute=2, trusted_proxies="10.0.0.0/8"))
    body = {"email": "x@example.com", "password": "pw-pw-pw-pw"}
    async with _client(app, "10.9.9.9") as proxy:
        for _ in range(2):
            await proxy.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.1"})
        blocked = await proxy.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.1"})
        other = await proxy.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.2"})
    assert blocked.status_code == 429 and other.status_code == 401
    await app.state.engine.dispose()


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "too-short")
    monkeypatch.setenv("ENCRYPTION_MASTER_KEY", "zz")
    monkeypatch.setenv("JWT_ACCESS_EXPIRY", "fifteen minutes")
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert "JWT_SECRET" in message and "ENCRYPTION_MASTER_KEY" in message and "JWT_ACCESS_EXPIRY" in message
    assert "too-short" not in message


def test_durations_parse() -> None:
    settings = make_settings("postgresql://x/y", jwt_access_expiry="30m", jwt_refresh_expiry="14d")
    assert settings.access_ttl.total_seconds() == 1800
    assert settings.refresh_ttl.days == 14
    assert settings.database_url.startswith("postgresql+asyncpg://")


async def test_password_longer_than_72_bytes_is_fully_checked(client: httpx.AsyncClient) -> None:
    long_password = "p" * 80
    user = await register(client, password=long_password)
    wrong_tail = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "p" * 79 + "q"})
    assert wrong_tail.status_code == 401
    right = await client.post("/api/v1/auth/login", json={"email": user.email, "password": long_password})
    assert right.status_code == 200


async def test_postgres_limiter_is_shared_between_processes(engine: AsyncEngine) -> None:
    # Two limiters on one database stand for two API processes.
    now = [1_000_020.0]
    first = PostgresRateLimiter(engine, clock=lambda: now[0])
    second = PostgresRateLimiter(engine, clock=lambda: now[0])
    results = [await first.hit("k", 3, 60), await second.hit("k", 3, 60), await first.hit("k", 3, 60)]
    assert all(r.allowed for r in results)
    blocked = await second.hit("k", 3, 60)
    assert not blocked.allowed and blocked.retry_after > 0
    assert (await first.hit("other", 3, 60)).allowed
    async with engine.connect() as conn:
        hits = (await conn.execute(text("SELECT sum(hits) FROM rate_limit_counters WHERE key LIKE 'k|%'"))).scalar()
    assert hits == 4
    # Two windows later the old hits no longer count.
    now[0] += 120
    assert (await second.hit("k", 3, 60)).allowed


async def test_postgres_limiter_batches_large_limits_within_a_bound(engine: AsyncEngine) -> None:
    now = [2_000_000.0]
    processes = [PostgresRateLimiter(engine, clock=lambda: now[0], sync_seconds=3600) for _ in range(2)]
    allowed = 0
    for i in range(1_400):
        allowed += (await processes[i % 2].hit("big", 1_000, 60)).allowed
    # 1% of the limit may sit unsent in each process: at most 2% over, never unlimited.
    assert 1_000 <= allowed <= 1_020
    async with engine.connect() as conn:
        sent = (await conn.execute(text("SELECT hits FROM rate_limit_counters WHERE key = 'big|60'"))).scalar()
    assert sent is not None and sent >= 1_380


async def test_two_api_processes_share_the_auth_limit(database_url: str) -> None:
    apps = [create_app(make_settings(database_url, rate_limit_auth_per_minute=3)) for _ in range(2)]
    body = {"email": "x@example.com", "password": "pw-pw-pw-pw"}
    try:
        statuses = []
        for i in range(4):
            async with _client(apps[i % 2], "198.51.100.9") as client:
                statuses.append((await client.post("/api/v1/auth/login", json=body)).status_code)
    finally:
        for app in apps:
            await app.state.engine.dispose()
    assert statuses == [401, 401, 401, 429]


def test_api_runs_one_process_per_core_in_production(database_url: str) -> None:
    # Production refuses the test suite's weak secrets: give it random ones.
    strong = {"jwt_secret": secrets.token_urlsafe(48), "encryption_master_key": secrets.token_hex(32)}
    assert api_workers(make_settings(database_url, morket_env="production", **strong)) == (os.cpu_count() or 1)
    assert api_workers(make_settings(database_url, morket_env="development")) == 1
    assert api_workers(make_settings(database_url, morket_env="production", api_workers=3, **strong)) == 3
