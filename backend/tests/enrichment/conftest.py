"""Fixtures for the enrichment engine: a real Temporal dev server, the provider sandbox on a real
socket, an in-process worker, and an API client whose app talks to both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.app import create_app
from morket.core.config import Settings
from morket.devstack.ports import free_port
from morket.devstack.temporal import TemporalDevServer
from morket.worker import build_worker
from tests.conftest import make_settings
from tests.webhooks.receiver import RECEIVER_PORTS


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def enrichment_settings_for(
    database_url: str, temporal_server: TemporalDevServer, sandbox: SandboxServer, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "temporal_address": temporal_server.address,
        # A queue per test: workflows of one test never run on another test's worker.
        "temporal_task_queue": f"test-{uuid.uuid4().hex[:12]}",
        "provider_sandbox_url": sandbox.url,
        # Port 9 (discard) stands for "a loopback URL that is allowed but closed".
        "webhook_allow_loopback": ",".join(str(p) for p in (9, *RECEIVER_PORTS)),
        "webhook_retry_delays": "0.2,0.4,0.8",
        "webhook_timeout_seconds": 2.0,
        "enrichment_chunk_size": 50,
        "enrichment_parallel_chunks": 4,
        "enrichment_chunks_per_run": 8,
        "enrichment_write_batch": 20,
        # The sandbox is not bound by the real plans' limits; tests should not wait for them.
        "provider_rate_limits": {"apollo": [[2000, 1.0]], "hunter": [[2000, 1.0]], "clearbit": [[2000, 1.0]]},
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def reset_sandbox(sandbox: SandboxServer) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        await http.post("/_admin/reset")
    yield
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        await http.post("/_admin/reset")


@pytest.fixture
def enrichment_settings(
    database_url: str, temporal_server: TemporalDevServer, sandbox: SandboxServer, reset_sandbox: None
) -> Settings:
    return enrichment_settings_for(database_url, temporal_server, sandbox)


@pytest.fixture
async def api(
    enrichment_settings: Settings, temporal_client: Client, clean_db: None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(enrichment_settings)
    app.state.temporal_client = temporal_client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
async def worker(
    enrichment_settings: Settings, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    async with build_worker(temporal_client, enrichment_settings, sessions) as w, w:
        yield


@pytest.fixture
async def api_temporal_down(enrichment_settings: Settings, api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The same API, but its Temporal client points at a port nothing listens on."""
    app = create_app(enrichment_settings)
    app.state.temporal_client = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()
