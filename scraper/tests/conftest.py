"""Shared fixtures: pages the tests serve on loopback, a fresh PostgreSQL database per run, one
Chromium for the whole session, and the service itself on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from aiohttp import web
from morket.devstack.ports import free_port

from morket_scraper.app import create_app
from morket_scraper.browser import BrowserPool
from morket_scraper.config import ScraperSettings
from morket_scraper.safety import AddressPolicy
from morket_scraper.service import Scraper

SERVICE_KEY = "scraper-test-key-" + "k" * 32
CHROMIUM = Path(os.environ.get("SCRAPER_CHROMIUM_PATH", "/usr/bin/chromium"))
LOOPBACK = "127.0.0.1/32"


@dataclass
class Hit:
    path: str
    at: float
    headers: dict[str, str]


@dataclass
class Site:
    """A web site on loopback: `pages[path] = (status, headers, body)` or an async handler."""

    host: str
    port: int = 0
    pages: dict[str, Any] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def page(
        self,
        path: str,
        body: str,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> str:
        self.pages[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)
        return self.url + path

    def hits_to(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def reset(self) -> None:
        self.pages.clear()
        self.hits.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(Hit(request.path_qs, time.monotonic(), dict(request.headers)))
        entry = self.pages.get(request.path_qs) or self.pages.get(request.path)
        if entry is None:
            return web.Response(status=404, text="not found")
        if callable(entry):
            response: web.StreamResponse = await entry(request)
            return response
        status, headers, body = entry
        return web.Response(status=status, headers=headers, body=body.encode() if isinstance(body, str) else body)


async def start_site(site: Site, port: int | None = None) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = port or free_port(site.host)
    await web.TCPSite(runner, site.host, port).start()
    site.port = port
    return runner


@pytest.fixture(scope="session")
async def site_server() -> AsyncIterator[Site]:
    site = Site("127.0.0.1")
    runner = await start_site(site)
    yield site
    await runner.cleanup()


@pytest.fixture
def site(site_server: Site) -> Site:
    site_server.reset()
    return site_server


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database on the local PostgreSQL for this run (TEST_DATABASE_URL names another server)."""
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"morket_scraper_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def make_settings(database_url: str, **overrides: Any) -> ScraperSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "service_api_key": SERVICE_KEY,
        "allow_hosts": LOOPBACK,
        "chromium_path": CHROMIUM,
        "browser_pool_size": 3,
        "workers": 4,
        "default_rate_per_second": 1000.0,
        "default_burst": 1000,
        "webhook_retry_delays": "0.1,0.2,0.4",
        "fetch_timeout_seconds": 10.0,
        "task_timeout_seconds": 30.0,
    }
    values.update(overrides)
    return ScraperSettings(**values)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[BrowserPool]:
    """One Chromium for the session, shared by every scraper the tests build."""
    pool = BrowserPool(CHROMIUM, 3, AddressPolicy.from_entries([LOOPBACK]))
    await pool.start()
    yield pool
    await pool.close()


@pytest.fixture
async def make_scraper(database_url: str, browser: BrowserPool) -> AsyncIterator[Callable[..., Awaitable[Scraper]]]:
    made: list[Scraper] = []

    async def build(**overrides: Any) -> Scraper:
        scraper = Scraper(make_settings(database_url, **overrides), browser=browser)
        await scraper.start()
        made.append(scraper)
        return scraper

    yield build
    for scraper in made:
        await scraper.close()


@pytest.fixture
async def scraper(make_scraper: Callable[..., Awaitable[Scraper]]) -> Scraper:
    return await make_scraper(respect_robots=False)


class Service:
    """The scraper's API on a real socket (uvicorn), stoppable and restartable on the same database."""

    def __init__(self, settings: ScraperSettings, scraper: Scraper) -> None:
        self.settings = settings
        self.scraper = scraper
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"X-Service-Key": SERVICE_KEY}, timeout=90)

    async def start(self) -> None:
        app = create_app(self.settings, scraper=self.scraper)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 20
        while not self._server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("the scraper service did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


@pytest.fixture
async def make_service(database_url: str, browser: BrowserPool) -> AsyncIterator[Callable[..., Awaitable[Service]]]:
    running: list[Service] = []

    async def build(**overrides: Any) -> Service:
        settings = make_settings(database_url, **overrides)
        scraper = Scraper(settings, browser=browser)
        await scraper.start()
        service = Service(settings, scraper)
        await service.start()
        running.append(service)
        return service

    yield build
    for service in running:
        if service._task is not None and not service._task.done():
            await service.stop()
        await service.scraper.close()
    # Each test starts from an empty queue.
    conn = await asyncpg.connect(make_settings(database_url).asyncpg_dsn)
    with contextlib.suppress(asyncpg.UndefinedTableError):
        await conn.execute("TRUNCATE scraper.tasks, scraper.jobs, scraper.webhook_deliveries")
    await conn.close()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `check` until it holds; fail after `timeout` (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
