"""An enrichment job whose waterfall includes the scraper: the real scraper service (its own
process, Chromium included) reading pages this test serves on loopback, through the provider
gateway, the workflow and the ledger."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from morket_sandbox.server import SandboxServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.devstack.ports import free_port
from morket.devstack.temporal import TemporalDevServer
from tests.enrichment.conftest import enrichment_settings_for
from tests.enrichment.helpers import all_records, balance, create_job, funded_workspace, ledger, wait_for_job

SERVICE_KEY = "service-key-for-tests-" + "s" * 20

COMPANY = """<!doctype html><html><head><title>Acme</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Organization", "name": "Acme",
 "description": "Acme makes reusable rockets.", "sameAs": ["https://www.linkedin.com/company/acme-rockets"]}</script>
</head><body><a href="mailto:hello@acme.example">Write to us</a></body></html>"""
EMPTY = "<!doctype html><html><head><title></title></head><body><p>Under construction.</p></body></html>"
RENDERED = """<!doctype html><html><head><title>Loading</title></head><body><div id="root"></div><script>
  var s = document.createElement("script"); s.type = "application/ld+json";
  s.text = JSON.stringify({"@type": "Organization", "name": "Rendered", "description": "Made by script."});
  document.head.appendChild(s); document.getElementById("root").textContent = "Rendered";
</script></body></html>"""


@pytest.fixture(scope="module")
async def pages() -> AsyncIterator[str]:
    routes = {"/acme": COMPANY, "/empty": EMPTY, "/rendered": RENDERED}

    async def handle(request: web.Request) -> web.Response:
        body = routes.get(request.path)
        if body is None:
            return web.Response(status=404)
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="module")
def scraper_service(database_url: str) -> Iterator[str]:
    """`morket scraper` on a free port, on the test database (its own `scraper` schema)."""
    port = free_port()
    env = {
        **os.environ,
        "SCRAPER_DATABASE_URL": database_url,
        "SCRAPER_SERVICE_API_KEY": SERVICE_KEY,
        "SCRAPER_ALLOW_HOSTS": "127.0.0.1/32",
        "SCRAPER_BROWSER_POOL_SIZE": "2",
        "SCRAPER_DEFAULT_RATE_PER_SECOND": "1000",
        "SCRAPER_DEFAULT_BURST": "1000",
    }
    proc = subprocess.Popen([sys.executable, "-m", "morket.cli", "scraper", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded 2-core CI machine imports slowly
    try:
        while True:
            try:
                if httpx.get(url + "/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the scraper service did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def enrichment_settings(
    database_url: str,
    temporal_server: TemporalDevServer,
    sandbox: SandboxServer,
    reset_sandbox: None,
    scraper_service: str,
) -> Settings:
    return enrichment_settings_for(
        database_url,
        temporal_server,
        sandbox,
        scraper_url=scraper_service,
        service_api_key=SERVICE_KEY,
        provider_rate_limits={"clearbit": [[2000, 1.0]], "scraper": [[2000, 1.0]]},
    )


async def test_a_waterfall_with_the_scraper(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession], pages: str
) -> None:
    user, ws = await funded_workspace(api, credits=1_000)
    start = await balance(api, user, ws)
    records: list[dict[str, Any]] = [
        {"website": f"{pages}/acme", "domain": "scrapeco1.com"},
        {"website": f"{pages}/empty", "domain": "scrapeco4.com"},  # Clearbit knows this one
        {"website": f"{pages}/rendered", "domain": "scrapeco3.com"},
    ]
    job = await create_job(
        api,
        user,
        ws,
        {
            "records": records,
            "fields": ["company_description", "technologies"],
            "waterfall": {"company_description": ["scraper", "clearbit"], "technologies": ["scraper"]},
        },
    )
    done = await wait_for_job(api, user, ws, job["id"], timeout=180)
    assert done["status"] in ("completed", "partially_completed"), done
    got = sorted(await all_records(api, user, ws, job["id"]), key=lambda r: r["seq"])

    acme, empty, rendered = got
    assert acme["results"]["company_description"]["provider"] == "scraper"
    assert acme["results"]["company_description"]["status"] == "found"
    assert acme["output"]["company_description"] == "Acme makes reusable rockets."
    # A page without data is no_match: free, and the waterfall goes on to Clearbit.
    assert empty["results"]["company_description"]["provider"] == "clearbit", (empty["results"], empty["output"])
    assert empty["results"]["company_description"]["status"] == "found"
    assert empty["results"]["technologies"]["status"] != "found"
    # Content that only exists after JavaScript runs: the scraper's browser path.
    assert rendered["results"]["company_description"]["provider"] == "scraper"
    assert rendered["output"]["company_description"] == "Made by script."

    detail = await api.get(f"/api/v1/workspaces/{ws}/enrichment-records/{empty['id']}", headers=user.headers)
    attempts = detail.json()["data"]["attempts"]
    scraper_attempts = [a for a in attempts if a["provider"] == "scraper"]
    assert scraper_attempts and all(a["outcome"] == "no_match" and a["cost"] == 0 for a in scraper_attempts)

    spent = sum(r["credits_spent"] for r in got)
    # Two scraper answers and one Clearbit answer cost credits; the no_match costs nothing.
    assert spent == done["credits"]["spent"] == 3
    debits, debited = await ledger(sessions, job["id"])
    assert (debits, debited) == (3, 3)
    end = await balance(api, user, ws)
    assert end["balance"] == start["balance"] - 3 and end["reserved"] == 0
