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
from morket_scraper.browser import chromium_pids, pss_mb, rss_mb
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
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
    <script src="https://www.googletagmanager.com/gtm.js?id=GTM-1"></script>
    <link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter">
    <link rel="stylesheet" href="/static/site.css"><script defer src="/static/app.js"></script></head>
    <body><header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a></nav></header>
    <main><img src="/static/logo.png" alt="logo">
    <h1>Company {n}</h1>''' + "<p>We make widgets for every team, every day.</p>" * 40 + '''
    <p>Write to <a href="mailto:sales@c{n}.example">sales@c{n}.example</a>, call +1 512 555 0{n:03d}.</p>
    </main></body></html>'''

    async def page(request):
        n = int(request.match_info["n"]) % 1000
        return web.Response(text=PAGE.format(n=n), content_type="text/html")

    APP_JS = "document.querySelector('nav').insertAdjacentHTML('beforeend', ' <a href=\\"/careers\\">Careers</a>');"
    CSS = "body { font-family: Inter, sans-serif; } main { max-width: 60em; }"

    async def app_js(request):
        return web.Response(text=APP_JS, content_type="application/javascript")

    async def css(request):
        return web.Response(text=CSS, content_type="text/css")

    async def logo(request):
        return web.Response(body=b"\\x89PNG\\r\\n\\x1a\\n" + bytes(2048), content_type="image/png")

    app = web.Application()
    app.router.add_get("/c/{n}", page)
    app.router.add_get("/static/app.js", app_js)
    app.router.add_get("/static/site.css", css)
    app.router.add_get("/static/logo.png", logo)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


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


def stages(timings: dict[str, float], pages: int) -> str:
    return ", ".join(f"{name} {seconds / pages * 1000:.1f}" for name, seconds in timings.items())


def memory() -> tuple[float, float, float, float]:
    """(service RSS, service PSS, Chromium RSS, Chromium PSS) in MB. RSS counts Chromium's shared
    libraries once per process; PSS splits shared pages between processes (the real footprint)."""
    me, chromium = [os.getpid()], chromium_pids()
    return rss_mb(me), pss_mb(me), rss_mb(chromium), pss_mb(chromium)


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
    await scraper.start(with_browser=args.browser_pages > 0)
    try:
        if args.http_pages:
            await run(scraper, base, 200, FetchMode.HTTP, args.concurrency)  # warm-up: imports, parsers, robots.txt
            scraper.stage_seconds = dict.fromkeys(scraper.stage_seconds, 0.0)
            seconds, ok = await run(scraper, base, args.http_pages, FetchMode.HTTP, args.concurrency)
            rate = args.http_pages / seconds * 60
            print(
                f"HTTP path:    {args.http_pages} pages in {seconds:.1f} s = {rate:,.0f} pages/min "
                f"({ok} with data; goal >= 3,000; {args.concurrency} at a time)"
            )
            print(
                f"              ms per page (concurrent ones summed): {stages(scraper.stage_seconds, args.http_pages)}"
            )
        if not args.browser_pages:
            return
        browser = scraper.browser
        await run(scraper, base, 4 * args.pool, FetchMode.BROWSER, args.pool)  # warm-up: every context opened
        scraper.stage_seconds = dict.fromkeys(scraper.stage_seconds, 0.0)
        browser.stage_seconds = dict.fromkeys(browser.stage_seconds, 0.0)
        recycled, blocked = browser.recycled, browser.blocked
        before = memory()
        samples: list[tuple[float, float]] = []  # (service RSS, Chromium PSS) every 5 s

        async def sample() -> None:
            while True:
                await asyncio.sleep(5)
                samples.append((rss_mb([os.getpid()]), pss_mb(chromium_pids())))

        sampler = asyncio.create_task(sample())
        seconds, ok = await run(scraper, base, args.browser_pages, FetchMode.BROWSER, args.pool)
        sampler.cancel()
        after = memory()
        rate = args.browser_pages / seconds * 60
        print(
            f"browser path: {args.browser_pages} pages in {seconds:.1f} s = {rate:,.0f} pages/min "
            f"with a pool of {args.pool} ({ok} with data; goal >= 300)"
        )
        print(
            f"              ms per page (concurrent ones summed): {stages(scraper.stage_seconds, args.browser_pages)}"
        )
        print(f"              in the pool: {stages(browser.stage_seconds, args.browser_pages)}")
        print(
            f"              {browser.blocked - blocked} requests blocked (trackers, other sites, images, fonts); "
            f"{browser.recycled - recycled} contexts recycled ({browser.recycled_for_memory} for memory), "
            f"{browser.launches} launch"
        )
        print(
            f"memory:       service RSS {before[0]:.0f} -> {after[0]:.0f} MB (PSS {before[1]:.0f} -> {after[1]:.0f}); "
            f"Chromium RSS {before[2]:.0f} -> {after[2]:.0f} MB, PSS {before[3]:.0f} -> {after[3]:.0f} MB "
            f"({len(chromium_pids())} processes)"
        )
        if samples:
            half = len(samples) // 2 or 1
            for label, i in (("service RSS", 0), ("Chromium PSS", 1)):
                first, second = [x[i] for x in samples[:half]], [x[i] for x in samples[half:]] or [0.0]
                print(
                    f"              {label} every 5 s: first half {min(first):.0f}-{max(first):.0f} MB, "
                    f"second half {min(second):.0f}-{max(second):.0f} MB"
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
