"""End-to-end: the real app (API + built web/dist) on a free port, driven by Debian's Chromium."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from morket_sandbox.server import SandboxServer
from playwright.sync_api import Browser, Page, expect, sync_playwright

from morket.app import create_app
from morket.core.config import Settings
from morket.core.db import make_sessionmaker
from morket.devstack.ports import free_port
from morket.devstack.temporal import TemporalDevServer
from morket.webui import default_dist_dir
from morket.worker import build_worker, connect
from tests.columns.api_server import ApiServer
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
# A deadline, not a sleep: generous because the test machine is shared and slow at times.
expect.set_options(timeout=20_000)
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def e2e_temporal(temporal_server: TemporalDevServer) -> TemporalDevServer:
    """The run's one Temporal dev server (tests/conftest.py); the e2e worker has a task queue of its own."""
    return temporal_server


@pytest.fixture(scope="session")
def e2e_sandbox() -> Iterator[SandboxServer]:
    """The provider sandbox on a real socket: enrichment columns run against it, never a real API."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def e2e_api_server() -> Iterator[ApiServer]:
    """The JSON API the HTTP column tests call (tests/columns/api_server.py), on a loopback port
    the app's settings allow, as a local deployment would list its own service's."""
    with ApiServer() as server:
        yield server


def _run_worker(settings: Settings, ready: threading.Event, stop: threading.Event) -> None:
    """The real Temporal worker (imports, enrichment, webhooks) on its own event loop in a thread."""
    from sqlalchemy.ext.asyncio import create_async_engine

    async def main() -> None:
        engine = create_async_engine(settings.database_url, pool_size=4)
        client = await connect(settings)
        try:
            async with build_worker(client, settings, make_sessionmaker(engine)) as worker, worker:
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.1)
        finally:
            await engine.dispose()

    asyncio.run(main())


@pytest.fixture(scope="session")
def base_url(
    database_url: str, e2e_temporal: TemporalDevServer, e2e_sandbox: SandboxServer, e2e_api_server: ApiServer
) -> Iterator[str]:
    """uvicorn in a thread serving the real app, with the web app `make web` built, and a worker;
    providers are the sandbox emulator over HTTP."""
    dist = default_dist_dir()
    if not (dist / "index.html").is_file():
        pytest.fail("web/dist is missing: run `make web` (make test builds it first)")
    port = free_port()
    settings = make_settings(
        database_url,
        cors_origin=f"http://127.0.0.1:{port}",
        web_dist_dir=str(dist),
        temporal_address=e2e_temporal.address,
        temporal_task_queue=f"e2e-{uuid.uuid4().hex[:12]}",
        # As `make run`: the API process follows the outbox into the search index.
        search_consumer=True,
        provider_sandbox_url=e2e_sandbox.url,
        # As `make run`: the CRMs (the sandbox's OAuth) send the browser back to the web app.
        crm_redirect_uri=f"http://127.0.0.1:{port}/crm/callback",
        # The sandbox is not bound by the real plans' limits; the browser should not wait for them.
        provider_rate_limits={"apollo": [[2000, 1.0]], "hunter": [[2000, 1.0]], "clearbit": [[2000, 1.0]]},
        webhook_allow_loopback=str(e2e_api_server.port),
    )
    ready, stop = threading.Event(), threading.Event()
    worker = threading.Thread(target=_run_worker, args=(settings, ready, stop), daemon=True)
    worker.start()
    if not ready.wait(60):
        pytest.fail("the Temporal worker did not start")
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the app server did not start")
        time.sleep(0.05)
    assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
    yield url
    server.should_exit = True
    thread.join(timeout=15)
    stop.set()
    worker.join(timeout=15)


# Module scope: the sync API keeps an event loop running in this thread while the browser is
# open, which the async tests of other modules must not meet. It starts after the server (and
# the database fixture, which runs its own asyncio.run) for the same reason.
@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/bootstrap.sh installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    # bypass_csp only so axe-core can be injected; the app itself runs under the served CSP.
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1440, "height": 900}, bypass_csp=True, reduced_motion="reduce"
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
