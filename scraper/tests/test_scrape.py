"""One target through the whole pipeline on loopback pages: the HTTP path, the browser path,
page-size limits and downloads, with results normalized per field (value, source URL, time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from morket_scraper.models import FetchMode, Outcome, TargetType
from morket_scraper.service import Scraper
from tests import pages
from tests.conftest import Site


async def test_http_path_follows_contact_pages(scraper: Scraper, site: Site) -> None:
    url = site.page("/", pages.COMPANY_JSONLD)
    site.page("/contact", pages.CONTACT_PAGE)
    site.page("/about", pages.ABOUT_PAGE)
    result = await scraper.scrape(url, TargetType.COMPANY)
    assert result.outcome is Outcome.SUCCESS
    assert result.fetched_with is FetchMode.HTTP
    values = result.values()
    assert values["company_name"] == "Acme Rockets Inc."
    assert "sales@acme.example" in [e["email"] for e in values["emails"]]
    assert result.fields["company_name"].source_url == url
    assert result.fields["emails"].fetched_at.tzinfo is not None
    # No browser was needed: the page had its content in the HTML.
    assert {h.path for h in site.hits} == {"/", "/contact", "/about"}
    assert all("Chrome/" not in h.headers.get("User-Agent", "") for h in site.hits)


async def test_browser_path_for_a_script_rendered_page(scraper: Scraper, site: Site) -> None:
    url = site.page("/app", pages.SCRIPT_SHELL)
    result = await scraper.scrape(url, TargetType.COMPANY)
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.fetched_with is FetchMode.BROWSER
    values = result.values()
    assert values["company_name"] == "Rendered Corp"
    assert values["company_description"] == "Built entirely by script."
    assert values["emails"] == [{"email": "hi@rendered.example"}]
    # The HTTP attempt first, then Chromium with a browser identity and navigator.webdriver hidden.
    agents = [h.headers.get("User-Agent", "") for h in site.hits_to("/app")]
    assert len(agents) == 2 and "Chrome/" in agents[1] and "HeadlessChrome" not in agents[1]
    assert "webdriver=undefined" in (await scraper.browser.fetch(url)).html


async def test_the_browser_reads_the_content_without_what_extraction_does_not_need(
    scraper: Scraper, site: Site
) -> None:
    """Trackers, another site's scripts, images are never requested; the site's own script runs;
    a script of the site that never answers does not hold the read back (no network idle wait)."""
    release = asyncio.Event()

    async def hangs(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="", content_type="application/javascript")

    site.pages["/hang.js"] = hangs
    site.page(
        "/own.js",
        "document.getElementById('root').innerHTML = "
        "'<h1>Scripted Co</h1><a href=\"mailto:hi@scripted.example\">mail</a>';",
        content_type="application/javascript",
    )
    site.page("/logo.png", "png", content_type="image/png")
    site.page("/other-site.js", "document.title = 'other site ran';", content_type="application/javascript")
    shell = f"""<!doctype html><html><head><title>Scripted</title>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
    <script src="http://localhost:{site.port}/other-site.js"></script>
    <script async src="/hang.js"></script></head>
    <body><img src="/logo.png"><div id="root"></div><script src="/own.js"></script></body></html>"""
    url = site.page("/scripted", shell)
    blocked = scraper.browser.blocked
    started = time.monotonic()
    try:
        result = await scraper.scrape(url, TargetType.COMPANY, FetchMode.BROWSER)
    finally:
        release.set()
    took = time.monotonic() - started
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.values()["emails"] == [{"email": "hi@scripted.example"}]
    assert took < scraper.settings.fetch_timeout_seconds / 2, took
    # localhost is another site than 127.0.0.1: the same server would have logged the request.
    assert site.hits_to("/other-site.js") == [] and site.hits_to("/logo.png") == []
    assert len(site.hits_to("/own.js")) == 1 and len(site.hits_to("/hang.js")) == 1
    assert scraper.browser.blocked - blocked >= 3  # the tracker, the other site's script, the image


async def test_mode_http_never_uses_the_browser(scraper: Scraper, site: Site) -> None:
    url = site.page("/shell", pages.SCRIPT_SHELL)
    result = await scraper.scrape(url, TargetType.COMPANY, FetchMode.HTTP)
    assert result.outcome is Outcome.NO_DATA
    assert result.fetched_with is FetchMode.HTTP
    assert len(site.hits_to("/shell")) == 1


async def test_a_page_without_data_is_no_data(scraper: Scraper, site: Site) -> None:
    url = site.page("/empty", pages.NO_DATA)
    result = await scraper.scrape(url, TargetType.PERSON)
    assert result.outcome is Outcome.NO_DATA
    assert result.fields == {}


async def test_page_size_limit_and_downloads(make_scraper: Callable[..., Awaitable[Scraper]], site: Site) -> None:
    scraper = await make_scraper(respect_robots=False, max_page_bytes=10_000)
    big = site.page("/big", "<html><body>" + "x" * 20_000 + "</body></html>")
    result = await scraper.scrape(big, TargetType.COMPANY)
    assert (result.outcome, result.error_code) == (Outcome.REFUSED, "too_large")
    pdf = site.page("/report.pdf", "%PDF-1.4 ...", content_type="application/pdf")
    result = await scraper.scrape(pdf, TargetType.COMPANY)
    assert (result.outcome, result.error_code) == (Outcome.REFUSED, "not_html")
    attachment = site.page("/dl", "<html></html>", headers={"Content-Disposition": "attachment; filename=x.html"})
    result = await scraper.scrape(attachment, TargetType.COMPANY)
    assert (result.outcome, result.error_code) == (Outcome.REFUSED, "not_html")


async def test_a_missing_page_is_no_data_and_a_server_error_is_an_error(scraper: Scraper, site: Site) -> None:
    result = await scraper.scrape(site.url + "/nowhere", TargetType.COMPANY)
    assert (result.outcome, result.error_code) == (Outcome.NO_DATA, "http_status")
    url = site.page("/down", "oops", status=503)
    result = await scraper.scrape(url, TargetType.COMPANY)
    assert (result.outcome, result.error_code) == (Outcome.ERROR, "http_status")
