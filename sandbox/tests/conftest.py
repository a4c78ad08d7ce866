"""Fixtures: one sandbox on a real socket for the session, reset before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from morket_sandbox import SandboxConfig, SandboxServer, create_sandbox_app


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_http(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the shared real-socket sandbox, reset to its start-up state."""
    with httpx.Client(base_url=sandbox_server.url, timeout=10) as client:
        client.post("/_admin/reset").raise_for_status()
        yield client


AsgiClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def asgi_sandbox() -> AsgiClientFactory:
    """Builds an in-process sandbox with its own config: `async with asgi_sandbox(config) as client`."""

    @asynccontextmanager
    async def make(config: SandboxConfig | None = None) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=create_sandbox_app(config))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield client

    return make
