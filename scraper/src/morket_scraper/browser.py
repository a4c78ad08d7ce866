"""The browser path: Debian's Chromium driven by Playwright, a pool of contexts recycled after N
pages or when Chromium's memory grows, and a crashed browser relaunched without losing the task."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from playwright.async_api import Browser, BrowserContext, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as PlaywrightPage

from morket_scraper.fetch import FetchError, Page, fetch_raw, make_session
from morket_scraper.fingerprint import WEBDRIVER_MASK, Fingerprint, random_fingerprint
from morket_scraper.politeness import DomainPolicy, policy_for
from morket_scraper.safety import AddressPolicy, TargetRefused, check_url, parse_host_ip

log = logging.getLogger("morket_scraper.browser")

# As root Chromium needs --no-sandbox; the rest keep it from reaching out to Google's services,
# which on a closed network stalls page loads for seconds. `--host-resolver-rules` makes every
# name Chromium would resolve itself fail: each request the page makes is answered by our route
# (fetched by aiohttp through the checked resolver), so no DNS answer Chromium could get after our
# check (DNS rebinding) is ever used.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-blink-features=AutomationControlled",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # A scraper never goes back: no page is kept alive for the back button of a reused tab.
    "--disable-features=BackForwardCache",
]
# Never needed to read a page: aborted before any connection.
_BLOCKED_RESOURCES = {"image", "media", "font", "texttrack", "manifest", "eventsource", "websocket", "ping", "other"}
# Analytics, tag managers, ads, chat widgets: never needed for extraction, whatever the page says.
TRACKER_DOMAINS = frozenset(
    {
        "googletagmanager.com",
        "google-analytics.com",
        "analytics.google.com",
        "doubleclick.net",
        "googlesyndication.com",
        "googleadservices.com",
        "facebook.net",
        "connect.facebook.net",
        "hs-scripts.com",
        "hs-analytics.net",
        "hsforms.net",
        "hotjar.com",
        "segment.com",
        "segment.io",
        "mixpanel.com",
        "amplitude.com",
        "intercom.io",
        "intercomcdn.com",
        "clarity.ms",
        "fullstory.com",
        "snap.licdn.com",
        "ads-twitter.com",
        "static.ads-twitter.com",
        "bat.bing.com",
        "criteo.com",
        "taboola.com",
        "outbrain.com",
        "newrelic.com",
        "nr-data.net",
        "sentry.io",
        "cookielaw.org",
        "onetrust.com",
        "cookiebot.com",
        "drift.com",
        "zdassets.com",
        "crisp.chat",
        "tawk.to",
    }
)
# Waits in the page until it is ready to read, then returns its HTML (one round trip for both):
# ready once the DOM content loaded, the page has content (structured data or 200 characters of
# text, and no empty app mount point) and its text did not change between two polls; a page that
# stays small is read once its text was quiet for 0.5 s (with an empty mount point, only once the
# page is complete, i.e. its scripts ran); at the limit, whatever is there.
READ_WHEN_READY = """(limit) => new Promise((resolve) => {
  const started = performance.now();
  let length = -1;
  let since = started;
  const html = () => (document.doctype ? '<!DOCTYPE ' + document.doctype.name + '>' : '')
    + document.documentElement.outerHTML;
  const check = () => {
    const now = performance.now();
    const body = document.body;
    if (body && document.readyState !== 'loading') {
      const n = (body.innerText || '').length;
      if (n !== length) {
        length = n;
        since = now;
      } else {
        const empty = Array.from(document.querySelectorAll('#root, #app, #__next, [data-reactroot], app-root'))
          .some((m) => !(m.textContent || '').trim());
        const data = document.querySelector(
          'script[type="application/ld+json"], [itemscope], meta[property^="og:"]');
        const quiet = now - since >= 500;
        if ((!empty && (data || n >= 200 || quiet)) || (document.readyState === 'complete' && quiet)) {
          resolve(html());
          return;
        }
      }
    }
    if (now - started >= limit) {
      resolve(html());
      return;
    }
    setTimeout(check, 25);
  };
  check();
})"""
CONTENT_WAIT_SECONDS = 3.0
# navigation includes `requests`: the time the route spent fetching the page's requests itself.
STAGES = ("context", "page", "navigation", "requests", "content", "recycle")


def is_tracker(host: str) -> bool:
    parts = host.lower().rstrip(".").split(".")
    return any(".".join(parts[i:]) in TRACKER_DOMAINS for i in range(len(parts) - 1))


def site_of(host: str) -> str:
    """The registrable part of a host, near enough: the last two labels, three under a short
    second-level label of a country code (example.co.uk); an IP address is its own site."""
    host = host.lower().rstrip(".")
    if parse_host_ip(host) is not None:
        return host
    parts = host.split(".")
    if len(parts) >= 3 and len(parts[-1]) == 2 and len(parts[-2]) <= 3:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def process_tree(root: int) -> list[int]:
    """Every descendant of `root` (from /proc), for memory figures and crash tests."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def chromium_pids() -> list[int]:
    """Chromium processes started by this process (through Playwright's driver)."""
    pids = []
    for pid in process_tree(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"chrom" in cmd.split(b"\0", 1)[0]:
            pids.append(pid)
    return pids


def pss_mb(pids: list[int]) -> float:
    """Proportional set size: each shared page split between the processes that map it (RSS
    counts Chromium's shared libraries once per renderer, which overstates the pool many times)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


@dataclass
class _Slot:
    context: BrowserContext
    fingerprint: Fingerprint
    proxy: str | None
    page: PlaywrightPage | None = None
    pages: int = 0


class BrowserPool:
    def __init__(
        self,
        executable: Path,
        size: int,
        policy: AddressPolicy,
        *,
        recycle_pages: int = 100,
        recycle_memory_mb: int = 512,
        max_bytes: int = 5_000_000,
        proxy: Callable[[], str | None] | None = None,
        policies: dict[str, DomainPolicy] | None = None,
    ) -> None:
        self.executable = executable
        self.size = size
        self.policy = policy
        self.policies = policies or {}
        self.recycle_pages = recycle_pages
        self.recycle_memory_mb = recycle_memory_mb
        self.max_bytes = max_bytes
        self._proxy = proxy
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._http: aiohttp.ClientSession | None = None
        self._version = ""
        self._slots: asyncio.Queue[_Slot | None] = asyncio.Queue()
        self._launch_lock = asyncio.Lock()
        self._generation = 0
        self._created = 0
        # Chromium's memory once every context of the pool was open (its steady state); None until then.
        self._baseline_mb: float | None = None
        # Navigations the guard followed to another URL, or refused, by the URL asked for.
        self.final_urls: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self.launches = 0
        self.recycled = 0
        self.recycled_for_memory = 0
        self.pages = 0
        self.active = 0
        self.blocked = 0
        # Seconds spent per stage of a page (see STAGES), summed over every page: what a page costs.
        self.stage_seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @property
    def ready(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    @property
    def baseline_mb(self) -> float | None:
        return self._baseline_mb

    def _timed(self, stage: str, started: float) -> None:
        self.stage_seconds[stage] += time.perf_counter() - started

    async def start(self) -> None:
        if not self.executable.exists():
            raise RuntimeError(f"Chromium not found at {self.executable}; set SCRAPER_CHROMIUM_PATH")
        # Every request of every page goes through this session: its resolver checks the address it connects to.
        self._http = make_session(self.policy, limit=100)
        self._playwright = await async_playwright().start()
        await self._launch()

    async def _launch(self) -> None:
        assert self._playwright is not None
        self._browser = await self._playwright.chromium.launch(
            executable_path=str(self.executable), headless=True, args=CHROMIUM_ARGS, chromium_sandbox=False
        )
        self._version = self._browser.version
        self.launches += 1
        self._generation += 1
        self._created = 0
        self._baseline_mb = None
        # Old slots are dropped as they come back; a fresh set belongs to the new browser.
        while not self._slots.empty():
            self._slots.get_nowait()
        for _ in range(self.size):
            self._slots.put_nowait(None)

    async def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        if self._http is not None:
            await self._http.close()
        self._browser = None
        self._playwright = None
        self._http = None

    async def _relaunch(self, generation: int) -> None:
        async with self._launch_lock:
            if self._generation != generation:
                return  # someone else already relaunched
            log.warning("chromium is gone; relaunching")
            if self._browser is not None:
                with contextlib.suppress(PlaywrightError):
                    await self._browser.close()
            await self._launch()

    async def _new_slot(self) -> _Slot:
        assert self._browser is not None
        started = time.perf_counter()
        fingerprint = random_fingerprint(self._version)
        context = await self._browser.new_context(
            user_agent=fingerprint.user_agent,
            viewport={"width": fingerprint.viewport[0], "height": fingerprint.viewport[1]},
            locale=fingerprint.locale,
            timezone_id=fingerprint.timezone,
            extra_http_headers={"Accept-Language": fingerprint.accept_language},
            accept_downloads=False,
            java_script_enabled=True,
            service_workers="block",
        )
        # The proxy is ours to use (the guard fetches every request), not Chromium's.
        slot = _Slot(context, fingerprint, self._proxy() if self._proxy else None)
        await context.add_init_script(WEBDRIVER_MASK)

        async def guard(route: Route) -> None:
            await self._guard(route, slot)

        await context.route("**/*", guard)
        self._created += 1
        self._timed("context", started)
        return slot

    def _wanted(self, url: str, resource_type: str, top: str) -> bool:
        """Whether a page's request is needed to read it: no images, fonts, media, trackers, nor
        another site's scripts, styles, frames or API calls (unless the domain's policy allows them)."""
        if resource_type in _BLOCKED_RESOURCES:
            return False
        host = (urlsplit(url).hostname or "").lower()
        if is_tracker(host):
            return False
        if not top or site_of(host) == site_of(top):
            return True
        return bool(policy_for(self.policies, top).third_party_scripts)

    async def _guard(self, route: Route, slot: _Slot) -> None:
        """Every request a page makes is answered here, fetched by aiohttp through the checked
        resolver (each redirect hop checked): Chromium connects to nothing and resolves nothing.

        Chromium does not show redirects to routes, so the final answer of a redirected navigation
        is handed to the page with a <base> so its relative links resolve against its real URL.
        """
        request = route.request
        try:
            frame = request.frame
            navigation = request.is_navigation_request() and frame.parent_frame is None
            top = "" if navigation else (urlsplit(frame.url).hostname or "")
        except PlaywrightError:  # a request without a frame (a worker's): judged by its own URL
            navigation, top = False, ""
        if not navigation and not self._wanted(request.url, request.resource_type, top):
            self.blocked += 1
            await route.abort("blockedbyclient")
            return
        assert self._http is not None
        started = time.perf_counter()
        try:
            response = await fetch_raw(
                self._http,
                request.method,
                request.url,
                self.policy,
                headers=request.headers,  # all_headers() would cost a round trip per request
                data=request.post_data_buffer,
                max_bytes=self.max_bytes,
                proxy=slot.proxy,
                timeout=30.0,
            )
        except TargetRefused as exc:
            if navigation:
                self.refused[request.url] = str(exc)
            await route.abort("addressunreachable")
            return
        except FetchError as exc:
            if navigation:
                self.refused.pop(request.url, None)
            await route.abort("timedout" if exc.code == "timeout" else "failed")
            return
        finally:
            self._timed("requests", started)
        headers: dict[str, str] = {}
        for key, value in response.headers:
            name = key.lower()
            if name == "location":
                continue
            # Playwright takes several Set-Cookie values joined by newlines.
            headers[name] = (
                f"{headers[name]}{chr(10) if name == 'set-cookie' else ', '}{value}" if name in headers else value
            )
        body = response.body
        if navigation and response.final_url != request.url:
            self.final_urls[request.url] = response.final_url
            base = f'<base href="{html.escape(response.final_url, quote=True)}">'.encode()
            at = body[:4096].lower().find(b"<head>")
            body = body[: at + 6] + base + body[at + 6 :] if at >= 0 else base + body
        with contextlib.suppress(PlaywrightError):
            await route.fulfill(status=response.status, headers=headers, body=body)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[_Slot]:
        if not self.ready:
            await self._relaunch(self._generation)
        generation = self._generation
        slot = await self._slots.get()
        healthy = False
        try:
            if slot is None or generation != self._generation:
                slot = await self._new_slot()
            self.active += 1
            try:
                yield slot
            except (FetchError, TargetRefused):
                healthy = True  # an answer about the page, not a broken context
                raise
            healthy = True
        finally:
            self.active -= 1 if slot is not None else 0
            await self._give_back(slot, generation, healthy)

    async def _give_back(self, slot: _Slot | None, generation: int, healthy: bool) -> None:
        if generation != self._generation:
            if slot is not None:
                with contextlib.suppress(PlaywrightError):
                    await slot.context.close()
            return  # the relaunch already refilled the pool
        if slot is not None:
            grew = self._memory_grew()
            if not healthy or slot.pages >= self.recycle_pages or grew:
                started = time.perf_counter()
                with contextlib.suppress(PlaywrightError):
                    await slot.context.close()
                self.recycled += 1
                self.recycled_for_memory += grew
                slot = None
                self._timed("recycle", started)
        self._slots.put_nowait(slot)

    def _memory_grew(self) -> bool:
        """Every 20 pages: has Chromium grown more than `recycle_memory_mb` over its steady state
        (measured once every context of the pool was open and had loaded a page)?"""
        if self.pages % 20:
            return False
        now = pss_mb(chromium_pids())
        if self._baseline_mb is None:
            if self._created >= self.size and self.pages >= 2 * self.size:
                self._baseline_mb = now
            return False
        return now - self._baseline_mb > self.recycle_memory_mb

    async def fetch(self, url: str, *, timeout: float = 30.0) -> Page:
        """Load `url` in a pooled context; if Chromium crashed meanwhile, relaunch and load it again once."""
        await check_url(url, self.policy)
        if self._playwright is None:
            raise FetchError("browser_unavailable", "the browser is not running", retryable=False)
        for attempt in (1, 2):
            generation = self._generation
            try:
                return await self._load(url, timeout)
            except PlaywrightError as exc:
                if generation == self._generation and await self._alive():
                    if "Timeout" in type(exc).__name__ or "Timeout" in str(exc):
                        raise FetchError("timeout", "the page did not load in time") from None
                    raise FetchError("browser_error", str(exc).splitlines()[0][:300]) from None
                if attempt == 2:
                    raise FetchError("browser_crashed", "Chromium crashed twice loading this page") from None
                await self._relaunch(generation)
        raise AssertionError("unreachable")

    async def _alive(self) -> bool:
        """Whether Chromium still answers (a page error can arrive before the news of its death)."""
        browser = self._browser
        if browser is None or not browser.is_connected():
            return False
        try:
            context = await asyncio.wait_for(browser.new_context(), 5)
            await context.close()
        except (PlaywrightError, TimeoutError):
            return False
        return True

    async def _load(self, url: str, timeout: float) -> Page:
        async with self._slot() as slot:
            # One tab per context, reused page after page (a new tab per page costs as much as the page).
            if slot.page is None or slot.page.is_closed():
                started = time.perf_counter()
                slot.page = await slot.context.new_page()
                self._timed("page", started)
            page = slot.page
            started = time.perf_counter()
            deadline = time.monotonic() + timeout
            try:
                # DOM content loaded, not network idle: what the page still loads after that
                # (beacons, late scripts) does not hold the read back.
                response = await page.goto(url, timeout=timeout * 1000, wait_until="domcontentloaded")
            except PlaywrightError:
                refused = self.refused.pop(url, None)
                if refused is not None:
                    raise TargetRefused(refused) from None
                raise
            self._timed("navigation", started)
            if response is None:
                raise FetchError("browser_error", "no response")
            final_url = self.final_urls.pop(url, page.url)
            await check_url(final_url, self.policy)
            if response.status >= 400:
                raise FetchError(
                    "http_status",
                    f"the site answered {response.status}",
                    status=response.status,
                    retryable=response.status >= 500 or response.status == 429,
                )
            started = time.perf_counter()
            content = await self._read(page, deadline)
            if len(content) > self.max_bytes:
                raise FetchError("too_large", f"the rendered page is over {self.max_bytes} bytes", retryable=False)
            headers = await response.all_headers()
            self._timed("content", started)
            slot.pages += 1
            self.pages += 1
            return Page(
                url=url,
                final_url=final_url,
                status=response.status,
                html=content,
                headers=headers,
                fetched_at=datetime.now(UTC),
            )

    async def _read(self, page: PlaywrightPage, deadline: float) -> str:
        """The page's HTML once its content is there (READ_WHEN_READY); a script that navigates
        the page meanwhile gets one more wait on the new document."""
        for attempt in (1, 2):
            limit = max(0.0, min(CONTENT_WAIT_SECONDS, deadline - time.monotonic()))
            try:
                content: str = await page.evaluate(READ_WHEN_READY, limit * 1000)
                return content
            except PlaywrightError as exc:
                if attempt == 2 or "context was destroyed" not in str(exc):
                    raise
                await page.wait_for_load_state("domcontentloaded", timeout=max(1.0, deadline - time.monotonic()) * 1000)
        raise AssertionError("unreachable")

    def status(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "size": self.size,
            "active": self.active,
            "launches": self.launches,
            "recycled": self.recycled,
            "pages": self.pages,
            "blocked_requests": self.blocked,
            "chromium_version": self._version,
        }
