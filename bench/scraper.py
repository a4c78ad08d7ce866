"""Scraper benchmark: pages/min on the HTTP path and on the browser path, and memory over 1,000
browser pages.

    .venv/bin/python bench/scraper.py [--http-pages 3000] [--browser-pages 1000] [--pool 5] [--concurrency 32]

Serves realistic company pages (JSON-LD, OpenGraph, contact links) from a subprocess on loopback,
then runs the scraper's whole pipeline for one target at a time (`Scraper.scrape`: SSRF check,
breaker, robots.txt, token bucket, fetch, extraction, normalized result), many at once:
  1. the HTTP path: pages/min (goal >= 3,000, the level of `scrapy bench`);
  2. the browser path with a pool of N contexts (mode=browser): pages/min (goal >= 300), and the
     resident memory of this process (the service) and of Chromium before and after the run
     (goal: no growth beyond the pool's steady state; contexts are recycled every 100 pages).
Politeness is set wide open for the one loopback domain (the point is our own cost, not pacing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import httpx
from morket_scraper.browser import chromium_pids, rss_mb
from morket_scraper.config import ScraperSettings
from morket_scraper.models import FetchMode, Outcome, TargetType
from morket_scraper.service import Scraper

from morket.devstack.ports import free_port

SITE = textwrap.dedent(
    """
    import sys
    from aiohttp import web

    PAGE = '''<!doctype html><html lang="en"><head><meta charset="utf-8">
    <title>Company {n} | Widgets</title><meta name="description" content="Company {n} makes widgets.">
    <meta property="og:site_name" content="Company {n}"><meta property="og:type" content="website">
    <script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Organization",
     "name": "Company {n}", "description": "Widgets since 1999.", "foundingDate": "1999",
     "sameAs": ["https://www.linkedin.com/company/c{n}", "https://twitter.com/c{n}"],
     "address": {{"@type": "PostalAddress", "addressLocality": "Austin", "addressCountry": "US"}}}}</script>
    <script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head>
    <body><header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a></nav></header>
    <main><h1>Company {n}</h1>''' + "<p>We make widgets for every team, every day.</p>" * 40 + '''
    <p>Write to <a href="mailto:sales@c{n}.example">sales@c{n}.example</a>, call +1 512 555 0{n:03d}.</p>
    </main></body></html>'''

    async def page(request):
        n = int(request.match_info["n"]) % 1000
        return web.Response(text=PAGE.format(n=n), content_type="text/html")

    app = web.Application()
    app.router.add_get("/c/{n}", page)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


def process_rss_mb() -> float:
    return rss_mb([os.getpid()])


async def run(scraper: Scraper, base: str, pages: int, mode: FetchMode, concurrency: int) -> tuple[float, int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(pages):
        queue.put_nowait(i)
    ok = 0
    problems: Counter[str] = Counter()

    async def worker() -> None:
        nonlocal ok
        while not queue.empty():
            i = queue.get_nowait()
            result = await scraper.scrape(f"{base}/c/{i}", TargetType.COMPANY, mode, follow_links=False)
            if result.outcome is Outcome.SUCCESS and result.values().get("company_name"):
                ok += 1
            else:
                problems[f"{result.outcome.value}:{result.error_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if problems:
        print(f"              without data: {dict(problems)}")
    return time.perf_counter() - started, ok


def start_site() -> tuple[subprocess.Popen[bytes], str]:
    """The pages, served by another process: the site's CPU is not counted as the scraper's."""
    port = free_port()
    site = subprocess.Popen([sys.executable, "-c", SITE, str(port)])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/c/1", timeout=1)
            return site, base
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def main(args: argparse.Namespace, base: str) -> None:
    settings = ScraperSettings(
        service_api_key="bench-" + "x" * 40,
        allow_hosts="127.0.0.1/32",
        chromium_path=Path(args.chromium),
        browser_pool_size=args.pool,
        default_rate_per_second=1e9,
        default_burst=1_000_000,
        breaker_min_calls=1_000_000,
        respect_robots=True,
    )
    scraper = Scraper(settings)
    await scraper.start()
    try:
        await run(scraper, base, 50, FetchMode.HTTP, 8)  # warm-up: imports, parsers, robots.txt
        seconds, ok = await run(scraper, base, args.http_pages, FetchMode.HTTP, args.concurrency)
        rate = args.http_pages / seconds * 60
        print(
            f"HTTP path:    {args.http_pages} pages in {seconds:.1f} s = {rate:,.0f} pages/min "
            f"({ok} with data; goal >= 3,000)"
        )

        await run(scraper, base, 20, FetchMode.BROWSER, args.pool)  # warm-up: every context opened
        service_before, chromium_before = process_rss_mb(), rss_mb(chromium_pids())
        seconds, ok = await run(scraper, base, args.browser_pages, FetchMode.BROWSER, args.pool)
        rate = args.browser_pages / seconds * 60
        service_after, chromium_after = process_rss_mb(), rss_mb(chromium_pids())
        print(
            f"browser path: {args.browser_pages} pages in {seconds:.1f} s = {rate:,.0f} pages/min "
            f"with a pool of {args.pool} ({ok} with data; goal >= 300)"
        )
        print(
            f"memory:       service {service_before:.0f} MB -> {service_after:.0f} MB, "
            f"Chromium {chromium_before:.0f} MB -> {chromium_after:.0f} MB "
            f"({len(chromium_pids())} processes; {scraper.browser.recycled} contexts recycled, "
            f"{scraper.browser.launches} launch)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"              service peak RSS {peak:.0f} MB")
    finally:
        await scraper.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http-pages", type=int, default=3000)
    parser.add_argument("--browser-pages", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--chromium", default=os.environ.get("SCRAPER_CHROMIUM_PATH", "/usr/bin/chromium"))
    site, base = start_site()
    try:
        asyncio.run(main(parser.parse_args(), base))
    finally:
        site.terminate()
        site.wait()
