"""Fixtures: the provider sandbox on a real socket (one per session, reset around each test),
adapters and gateways pointed at it, and workspaces for cache tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from morket_sandbox import SANDBOX_API_KEY, SandboxServer
from redis import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.models import Workspace
from morket.providers.base import ProviderAdapter, ProviderCredential
from morket.providers.gateway import ProviderGateway, base_url_for
from morket.providers.registry import REGISTRY
from morket.providers.transport import provider_http_client
from tests.conftest import make_settings

SANDBOX_KEY = ProviderCredential(api_key=SANDBOX_API_KEY)
WRONG_KEY = ProviderCredential(api_key="not-a-valid-key")

SetFaults = Callable[..., Awaitable[None]]

# Redis-backed breakers and limiters are tested on database 15 and skipped when Redis is down.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> bool:
    try:
        with Redis.from_url(REDIS_URL, socket_connect_timeout=0.5) as client:
            client.ping()
        return True
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not redis_available(), reason="Redis is not reachable")


@pytest.fixture(scope="session")
def provider_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
async def sandbox_admin(provider_sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's admin API; the sandbox is reset before and after the test."""
    async with httpx.AsyncClient(base_url=provider_sandbox.url, timeout=10) as admin:
        (await admin.post("/_admin/reset")).raise_for_status()
        yield admin
        (await admin.post("/_admin/reset")).raise_for_status()


@pytest.fixture
def set_faults(sandbox_admin: httpx.AsyncClient) -> SetFaults:
    """`await set_faults(hunter={"pending_rounds": 1})`: fault knobs per provider."""

    async def apply(**providers: dict[str, Any]) -> None:
        response = await sandbox_admin.put("/_admin/faults", json={"providers": providers})
        response.raise_for_status()

    return apply


async def sandbox_calls(admin: httpx.AsyncClient, provider: str) -> dict[str, int]:
    """Responses the sandbox sent for `provider`, by status code, since the last reset."""
    stats = (await admin.get("/_admin/stats")).json()
    by_status: dict[str, int] = stats["providers"][provider]["by_status"]
    return by_status


@pytest.fixture
def provider_settings(database_url: str, provider_sandbox: SandboxServer) -> Settings:
    return make_settings(
        database_url,
        provider_sandbox_url=provider_sandbox.url,
        provider_pending_backoff_seconds=0.05,
        provider_timeout_seconds=5.0,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The production client (httpx API over the aiohttp transport), so every adapter test covers it.
    async with provider_http_client(5.0, max_connections=20) as client:
        yield client


@pytest.fixture
def adapters(provider_settings: Settings) -> dict[str, ProviderAdapter]:
    """Every registered adapter, pointed at the sandbox."""
    return {slug: type(adapter)(base_url_for(provider_settings, adapter)) for slug, adapter in REGISTRY.items()}


@pytest.fixture
async def gateway(
    provider_settings: Settings, sessions: async_sessionmaker[AsyncSession], sandbox_admin: httpx.AsyncClient
) -> AsyncIterator[ProviderGateway]:
    """An in-process gateway (in-memory breakers and limiter) with the test database for cache and vault."""
    async with ProviderGateway(provider_settings, sessions) as gateway:
        yield gateway


WorkspaceFactory = Callable[[], Awaitable[uuid.UUID]]


@pytest.fixture
def workspace_factory(sessions: async_sessionmaker[AsyncSession], clean_db: None) -> WorkspaceFactory:
    async def create() -> uuid.UUID:
        workspace_id = uuid.uuid4()
        async with unit_of_work(sessions) as session:
            session.add(Workspace(id=workspace_id, name="Providers test", slug=f"providers-{workspace_id.hex[:12]}"))
        return workspace_id

    return create
