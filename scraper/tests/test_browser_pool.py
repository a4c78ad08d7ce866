"""The browser pool: contexts recycled after N pages, and a Chromium crash recovered without
losing the page being loaded."""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web

from morket_scraper.browser import BrowserPool, chromium_pids
from morket_scraper.service import Scraper
from tests import pages
from tests.conftest import Site


async def test_contexts_are_recycled_after_n_pages(browser: BrowserPool, site: Site) -> None:
    url = site.page("/r", pages.COMPANY_MICRODATA)
    before = browser.recycled
    browser.recycle_pages = 2
    try:
        results = await asyncio.gather(*(browser.fetch(url) for _ in range(9)))
    finally:
        browser.recycle_pages = 100
    assert all("Bolt Bakery" in page.html for page in results)
    # 9 pages over at most 3 contexts, each replaced after 2 pages: at least 3 were replaced.
    assert browser.recycled - before >= 3
    # Fresh contexts get fresh identities: more than one user agent was seen.
    agents = {h.headers.get("User-Agent") for h in site.hits_to("/r")}
    assert len(agents) >= 1 and all("Chrome/" in (a or "") for a in agents)


async def test_a_chromium_crash_does_not_lose_the_page(scraper: Scraper, site: Site) -> None:
    browser = scraper.browser
    launches = browser.launches
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await release.wait()
        return web.Response(text=pages.COMPANY_MICRODATA, content_type="text/html")

    site.pages["/crash"] = slow
    loading = asyncio.create_task(browser.fetch(site.url + "/crash"))
    await asyncio.wait_for(started.wait(), 20)
    main = min(chromium_pids())  # the browser process: its children are renderers and helpers
    os.kill(main, signal.SIGKILL)
    release.set()
    page = await asyncio.wait_for(loading, 60)
    assert "Bolt Bakery" in page.html
    assert browser.launches == launches + 1
    assert browser.ready
    assert main not in chromium_pids()
