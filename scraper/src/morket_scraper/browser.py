"""The browser path: Debian's Chromium driven by Playwright, a pool of contexts recycled after N
pages or when Chromium's memory grows, and a crashed browser relaunched without losing the task."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Browser, BrowserContext, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from morket_scraper.fetch import MAX_REDIRECTS, FetchError, Page
from morket_scraper.fingerprint import WEBDRIVER_MASK, Fingerprint, random_fingerprint
from morket_scraper.safety import AddressPolicy, TargetRefused, check_url

log = logging.getLogger("morket_scraper.browser")

# As root Chromium needs --no-sandbox; the rest keep it from reaching out to Google's services,
# which on a closed network stalls page loads for seconds.
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
]
_BLOCKED_RESOURCES = {"image", "media", "font"}


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


@dataclass
class _Slot:
    context: BrowserContext
    fingerprint: Fingerprint
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
    ) -> None:
        self.executable = executable
        self.size = size
        self.policy = policy
        self.recycle_pages = recycle_pages
        self.recycle_memory_mb = recycle_memory_mb
        self.max_bytes = max_bytes
        self._proxy = proxy
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._version = ""
        self._slots: asyncio.Queue[_Slot | None] = asyncio.Queue()
        self._launch_lock = asyncio.Lock()
        self._generation = 0
        self._baseline_mb = 0.0
        # Navigations the guard followed to another URL, or refused, by the URL asked for.
        self.final_urls: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self.launches = 0
        self.recycled = 0
        self.pages = 0
        self.active = 0

    @property
    def ready(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def start(self) -> None:
        if not self.executable.exists():
            raise RuntimeError(f"Chromium not found at {self.executable}; set SCRAPER_CHROMIUM_PATH")
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
        # Old slots are dropped as they come back; a fresh set belongs to the new browser.
        while not self._slots.empty():
            self._slots.get_nowait()
        for _ in range(self.size):
            self._slots.put_nowait(None)
        self._baseline_mb = rss_mb(chromium_pids())

    async def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = None
        self._playwright = None

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
        fingerprint = random_fingerprint(self._version)
        proxy = self._proxy() if self._proxy else None
        context = await self._browser.new_context(
            user_agent=fingerprint.user_agent,
            viewport={"width": fingerprint.viewport[0], "height": fingerprint.viewport[1]},
            locale=fingerprint.locale,
            timezone_id=fingerprint.timezone,
            extra_http_headers={"Accept-Language": fingerprint.accept_language},
            accept_downloads=False,
            java_script_enabled=True,
            proxy={"server": proxy} if proxy else None,
        )
        await context.add_init_script(WEBDRIVER_MASK)
        await context.route("**/*", self._guard)
        return _Slot(context, fingerprint)

    async def _guard(self, route: Route) -> None:
        """Every request the page makes: only to allowed addresses, no images/fonts/media.

        Chromium follows redirects without asking the route again, so a navigation is fetched here
        hop by hop (each hop checked) and the final answer handed to the page, with a <base> so
        its relative links resolve against the URL it really came from.
        """
        request = route.request
        if request.resource_type in _BLOCKED_RESOURCES:
            await route.abort()
            return
        try:
            await check_url(request.url, self.policy)
        except TargetRefused:
            await route.abort("addressunreachable")
            return
        if not request.is_navigation_request():
            await route.continue_()
            return
        current = request.url
        for _ in range(MAX_REDIRECTS + 1):
            response = await route.fetch(url=current, max_redirects=0, timeout=30_000)
            location = response.headers.get("location")
            if response.status in (301, 302, 303, 307, 308) and location:
                current = urljoin(current, location)
                try:
                    await check_url(current, self.policy)
                except TargetRefused as exc:
                    self.refused[request.url] = str(exc)
                    await route.abort("addressunreachable")
                    return
                continue
            if current == request.url:
                await route.fulfill(response=response)
                return
            self.final_urls[request.url] = current
            body = await response.body()
            base = f'<base href="{html.escape(current, quote=True)}">'.encode()
            lowered = body[:4096].lower()
            at = lowered.find(b"<head>")
            body = body[: at + 6] + base + body[at + 6 :] if at >= 0 else base + body
            headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "location")}
            await route.fulfill(status=response.status, headers=headers, body=body)
            return
        await route.abort("failed")

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
            yield slot
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
        if slot is not None and (not healthy or slot.pages >= self.recycle_pages or self._memory_grew()):
            with contextlib.suppress(PlaywrightError):
                await slot.context.close()
            self.recycled += 1
            slot = None
        self._slots.put_nowait(slot)

    def _memory_grew(self) -> bool:
        if self.pages % 20:
            return False
        return rss_mb(chromium_pids()) - self._baseline_mb > self.recycle_memory_mb

    async def fetch(self, url: str, *, timeout: float = 30.0, wait_for_network: bool = True) -> Page:
        """Load `url` in a pooled context; if Chromium crashed meanwhile, relaunch and load it again once."""
        await check_url(url, self.policy)
        if self._playwright is None:
            raise FetchError("browser_unavailable", "the browser is not running", retryable=False)
        for attempt in (1, 2):
            generation = self._generation
            try:
                return await self._load(url, timeout, wait_for_network)
            except PlaywrightError as exc:
                if self.ready and generation == self._generation:
                    if "Timeout" in type(exc).__name__ or "Timeout" in str(exc):
                        raise FetchError("timeout", "the page did not load in time") from None
                    raise FetchError("browser_error", str(exc).splitlines()[0][:300]) from None
                if attempt == 2:
                    raise FetchError("browser_crashed", "Chromium crashed twice loading this page") from None
                await self._relaunch(generation)
        raise AssertionError("unreachable")

    async def _load(self, url: str, timeout: float, wait_for_network: bool) -> Page:
        async with self._slot() as slot:
            page = await slot.context.new_page()
            try:
                try:
                    response = await page.goto(
                        url, timeout=timeout * 1000, wait_until="networkidle" if wait_for_network else "load"
                    )
                except PlaywrightError:
                    refused = self.refused.pop(url, None)
                    if refused is not None:
                        raise TargetRefused(refused) from None
                    raise
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
                content = await page.content()
                if len(content) > self.max_bytes:
                    raise FetchError("too_large", f"the rendered page is over {self.max_bytes} bytes", retryable=False)
                headers = await response.all_headers()
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
            finally:
                with contextlib.suppress(PlaywrightError):
                    await page.close()

    def status(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "size": self.size,
            "active": self.active,
            "launches": self.launches,
            "recycled": self.recycled,
            "pages": self.pages,
            "chromium_version": self._version,
        }
