"""The scraper: one target in, a ScrapeResult out (safety, politeness, fetch, extract), and the
queue workers that run persisted tasks with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from morket_scraper.browser import BrowserPool
from morket_scraper.config import ScraperSettings
from morket_scraper.credentials import CredentialClient, CredentialError
from morket_scraper.extractors import EXTRACTORS
from morket_scraper.extractors.base import Parsed
from morket_scraper.fetch import FetchError, Page, fetch_page, make_session
from morket_scraper.metrics import Metrics
from morket_scraper.models import (
    FetchMode,
    FieldValue,
    JobProgress,
    Outcome,
    ScrapeResult,
    TargetType,
    TaskStatus,
)
from morket_scraper.politeness import DomainBreaker, DomainLimiter, RobotsCache, load_policies, policy_for
from morket_scraper.proxies import NoProxyAvailable, ProxyPool
from morket_scraper.repository import NewDelivery, TaskRepository, TaskRow, create_schema
from morket_scraper.safety import AddressPolicy, TargetRefused, check_url, split_target
from morket_scraper.webhooks import WebhookDispatcher, WebhookSender, event_body

log = logging.getLogger("morket_scraper")

MAX_ATTEMPTS = 3
# Codes that say nothing about the page itself: worth another attempt, and a strike for the domain.
_TRANSIENT = {
    "timeout",
    "network_error",
    "proxy_error",
    "browser_crashed",
    "browser_error",
    "browser_unavailable",
    "no_proxy",
}


def needs_browser(page: Page) -> bool:
    """An empty body, or a script-rendered shell: scripts, next to no text, no structured data, and
    an empty mount point (#root, #app, #__next) or a <noscript> asking for JavaScript."""
    html = page.html
    if not html.strip():
        return True
    if "<script" not in html.lower():
        return False
    parsed = Parsed(page)
    tree = parsed.tree
    if tree.css_first('script[type="application/ld+json"], [itemscope], meta[property^="og:"]') is not None:
        return False
    if len(parsed.visible_text.strip()) >= 200:
        return False
    noscript = " ".join(n.text() for n in tree.css("noscript")).lower()
    mounts = tree.css("#root, #app, #__next, [data-reactroot], app-root")
    text = parsed.visible_text.strip()
    empty_mount = any(not (m.text() or "").strip() for m in mounts)
    return len(text) < 50 or empty_mount or "javascript" in noscript


class Scraper:
    def __init__(
        self,
        settings: ScraperSettings,
        *,
        browser: BrowserPool | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.policy = AddressPolicy.from_entries(settings.allow_list, settings.dns_server_list)
        self.policies = load_policies(settings.policy_file)
        self.metrics = Metrics()
        self.limiter = DomainLimiter(settings.default_rate_per_second, settings.default_burst, self.policies)
        self.breaker = DomainBreaker(
            window=settings.breaker_window_seconds,
            min_calls=settings.breaker_min_calls,
            failure_ratio=settings.breaker_failure_ratio,
            cooldown=settings.breaker_cooldown_seconds,
        )
        self.proxies = ProxyPool(settings.proxy_list, cooldown=settings.proxy_cooldown_seconds)
        self.agent_token = settings.user_agent_product.split("/", 1)[0]
        self.robots = RobotsCache(self._fetch_robots, self.agent_token)
        self.browser = browser or BrowserPool(
            settings.chromium_path,
            settings.browser_pool_size,
            self.policy,
            recycle_pages=settings.browser_recycle_pages,
            recycle_memory_mb=settings.browser_recycle_memory_mb,
            max_bytes=settings.max_page_bytes,
            proxy=self._browser_proxy,
            policies=self.policies,
        )
        self._owns_browser = browser is None
        self._sleep = sleep
        self._rng = random.Random()
        self.http: aiohttp.ClientSession | None = None
        self.webhooks: WebhookSender | None = None
        self.credentials: CredentialClient | None = None
        # Seconds spent per step of `scrape`, summed over every target (the benchmark prints them).
        self.stage_seconds: dict[str, float] = {"checks": 0.0, "fetch": 0.0, "extract": 0.0}

    async def start(self, *, with_browser: bool = True) -> None:
        self.http = make_session(self.policy, timeout=self.settings.fetch_timeout_seconds)
        self.webhooks = WebhookSender(self.http, self.policy, self.settings.webhook_timeout_seconds)
        if self.settings.api_url:
            self.credentials = CredentialClient(
                self.http,
                self.settings.api_url,
                self.settings.service_api_key,
                ttl=self.settings.credential_cache_seconds,
            )
        if with_browser and self._owns_browser:
            if self.settings.chromium_path.exists():
                await self.browser.start()
            else:
                # The HTTP path still works; /readiness says the browser is missing.
                log.error("no Chromium at %s (SCRAPER_CHROMIUM_PATH): browser path off", self.settings.chromium_path)

    async def close(self) -> None:
        if self._owns_browser:
            await self.browser.close()
        if self.http is not None:
            await self.http.close()

    def _browser_proxy(self) -> str | None:
        try:
            proxy = self.proxies.pick("*")
        except NoProxyAvailable:
            return None
        return proxy.url if proxy else None

    # -- fetching -----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "User-Agent": f"Mozilla/5.0 (compatible; {self.settings.user_agent_product})",
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Language": "en-US,en;q=0.8",
        }

    async def _fetch_robots(self, url: str) -> str | None:
        assert self.http is not None
        try:
            page = await fetch_page(
                self.http, url, self.policy, headers=self._headers(), max_bytes=500_000, accept_any_status=True
            )
        except (FetchError, TargetRefused):
            return None  # unreachable robots.txt: allowed, as most crawlers do
        return page.html if page.status < 400 else None

    async def _http(self, url: str, domain: str, proxy_override: list[str] | None) -> Page:
        assert self.http is not None
        proxy_url: str | None = None
        proxy_state = None
        if proxy_override:
            proxy_url = self._rng.choice(proxy_override)
        else:
            try:
                proxy_state = self.proxies.pick(domain)
            except NoProxyAvailable as exc:
                raise FetchError("no_proxy", str(exc)) from None
            proxy_url = proxy_state.url if proxy_state else None
        try:
            page = await fetch_page(
                self.http,
                url,
                self.policy,
                headers=self._headers(),
                max_bytes=self.settings.max_page_bytes,
                proxy=proxy_url,
            )
        except FetchError as exc:
            if proxy_state is not None and exc.code in ("proxy_error", "network_error", "timeout"):
                self.proxies.report(proxy_state, domain, ok=False, error=str(exc), dead=exc.code == "proxy_error")
            raise
        if proxy_state is not None:
            self.proxies.report(proxy_state, domain, ok=True)
        self.metrics.pages.labels("http").inc()
        return page

    async def _browser(self, url: str) -> Page:
        if self.settings.human_delays:
            await self._sleep(self._rng.uniform(0.5, 2.5))
        page = await self.browser.fetch(url, timeout=self.settings.fetch_timeout_seconds)
        self.metrics.pages.labels("browser").inc()
        return page

    async def _polite(self, url: str) -> str | None:
        """Wait for the domain's turn; the reason it may not be fetched at all, or None."""
        _, host, _ = split_target(url)
        policy = policy_for(self.policies, host)
        delay = None
        respect = policy.respect_robots if policy.respect_robots is not None else self.settings.respect_robots
        if respect:
            parts = urlsplit(url)
            allowed, delay = await self.robots.allowed(f"{parts.scheme}://{parts.netloc}", url)
            if not allowed:
                return "robots.txt disallows this page for our crawler"
        await self.limiter.acquire(host, delay)
        return None

    async def fetch(self, url: str, mode: FetchMode, proxy_override: list[str] | None = None) -> tuple[Page, FetchMode]:
        _, host, _ = split_target(url)
        always_browser = bool(policy_for(self.policies, host).always_browser)
        if mode is FetchMode.BROWSER or (mode is FetchMode.AUTO and always_browser):
            return await self._browser(url), FetchMode.BROWSER
        page = await self._http(url, host, proxy_override)
        if mode is FetchMode.AUTO and needs_browser(page):
            # The browser loads the URL the redirects led to (every hop was checked on the way).
            return await self._browser(page.final_url), FetchMode.BROWSER
        return page, FetchMode.HTTP

    # -- one target ---------------------------------------------------------------------------

    async def scrape(
        self,
        url: str,
        target_type: TargetType,
        mode: FetchMode = FetchMode.AUTO,
        *,
        follow_links: bool = True,
        workspace_id: uuid.UUID | None = None,
    ) -> ScrapeResult:
        def failed(outcome: Outcome, code: str, message: str) -> ScrapeResult:
            self.metrics.errors.labels(code).inc()
            return ScrapeResult(outcome=outcome, url=url, target_type=target_type, error=message, error_code=code)

        started = time.perf_counter()
        try:
            _, host, _ = split_target(url)
            await check_url(url, self.policy)
        except TargetRefused as exc:
            return failed(Outcome.REFUSED, "address_refused", str(exc))
        if not self.breaker.allow(host):
            return failed(
                Outcome.BLOCKED,
                "circuit_open",
                f"{host} failed repeatedly; retry in {self.breaker.retry_after(host):.0f} s",
            )
        proxies = await self._workspace_proxies(workspace_id)
        try:
            refusal = await self._polite(url)
            if refusal:
                return failed(Outcome.REFUSED, "robots_disallowed", refusal)
            fetching = time.perf_counter()
            self.stage_seconds["checks"] += fetching - started
            try:
                page, used = await self.fetch(url, mode, proxies)
            finally:
                self.stage_seconds["fetch"] += time.perf_counter() - fetching
        except TargetRefused as exc:
            return failed(Outcome.REFUSED, "address_refused", str(exc))
        except FetchError as exc:
            transient = exc.code in _TRANSIENT or exc.retryable
            # A missing browser says nothing about the site: no strike for the domain.
            if exc.code == "browser_unavailable":
                return failed(Outcome.ERROR, exc.code, str(exc))
            self.breaker.record(host, not transient)
            outcome = Outcome.ERROR if transient else Outcome.NO_DATA if exc.code == "http_status" else Outcome.REFUSED
            return failed(outcome, exc.code, str(exc))
        self.breaker.record(host, True)
        extracting = time.perf_counter()
        extractor = EXTRACTORS[target_type]
        parsed = [Parsed(page)]
        if follow_links:
            for link in extractor.links_to_follow(parsed[0]):
                with contextlib.suppress(FetchError, TargetRefused):
                    if await self._polite(link) is None:
                        parsed.append(Parsed(await self._http(link, host, proxies)))
        found = extractor.extract(parsed)
        fields = {
            name: FieldValue(value=value, source_url=source.final_url, fetched_at=source.fetched_at)
            for name, (value, source) in found.items()
        }
        self.stage_seconds["extract"] += time.perf_counter() - extracting
        return ScrapeResult(
            outcome=Outcome.SUCCESS if fields else Outcome.NO_DATA,
            url=url,
            final_url=page.final_url,
            target_type=target_type,
            fetched_with=used,
            fields=fields,
        )

    async def _workspace_proxies(self, workspace_id: uuid.UUID | None) -> list[str] | None:
        """A workspace's own proxies: its "scraper" credential in the API's vault, extra {"proxies": [...]}."""
        if workspace_id is None or self.credentials is None:
            return None
        try:
            credential = await self.credentials.get(workspace_id, "scraper")
        except CredentialError as exc:
            log.warning("workspace proxies unavailable: %s", exc)
            return None
        proxies = credential.extra.get("proxies") if credential else None
        return [p for p in proxies if isinstance(p, str)] if isinstance(proxies, list) and proxies else None


class TaskQueue:
    """Workers that claim persisted tasks, run them with the Scraper and record the results."""

    def __init__(self, scraper: Scraper, pool: asyncpg.Pool) -> None:
        self.scraper = scraper
        self.settings = scraper.settings
        self.repo = TaskRepository(pool)
        self.pool = pool
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._waiters: dict[uuid.UUID, list[asyncio.Future[None]]] = {}
        self._stopping = False
        self.active = 0
        self.dispatcher: WebhookDispatcher | None = None

    async def start(self) -> None:
        await create_schema(self.pool)
        requeued = await self.repo.requeue_running()
        if requeued:
            log.info("requeued %d tasks interrupted by the last shutdown", requeued)
        released = await self.repo.release_deliveries()
        if released:
            log.info("%d webhook deliveries interrupted by the last shutdown are due again", released)
        if self.scraper.webhooks is not None:
            self.dispatcher = WebhookDispatcher(self.repo, self.scraper.webhooks, self.settings.webhook_retry_schedule)
            self.dispatcher.start()
        self._workers = [asyncio.create_task(self._work(i)) for i in range(self.settings.workers)]

    async def stop(self) -> None:
        self._stopping = True
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        self._wake.set()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def notify(self) -> None:
        self._wake.set()

    async def wait_for(self, task_id: uuid.UUID, timeout: float) -> None:
        """Until the task finished here, or `timeout`; the caller reads the row afterwards."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(task_id, []).append(future)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                # Another instance may run it: look at the row now and then.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), timeout=min(1.0, deadline - time.monotonic()))
                    return
                row = await self.repo.get(task_id)
                if row is None or row.status.finished:
                    return
        finally:
            waiters = self._waiters.get(task_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(task_id, None)

    async def _work(self, index: int) -> None:
        while not self._stopping:
            try:
                row = await self.repo.claim(self.settings.task_timeout_seconds + 30)
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("claiming a task failed: %s", exc)
                row = None
            if row is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                continue
            self._wake.set()  # there may be more: let another idle worker look
            self.active += 1
            self.scraper.metrics.active_workers.set(self.active)
            try:
                await self._run(row)
            finally:
                self.active -= 1
                self.scraper.metrics.active_workers.set(self.active)

    async def _run(self, row: TaskRow) -> None:
        started = time.monotonic()
        mode = FetchMode(row.mode)
        options = row.options
        try:
            result = await asyncio.wait_for(
                self.scraper.scrape(
                    row.url,
                    TargetType(row.target_type),
                    mode,
                    follow_links=bool(options.get("follow_links", True)),
                    workspace_id=uuid.UUID(options["workspace_id"]) if options.get("workspace_id") else None,
                ),
                timeout=self.settings.task_timeout_seconds,
            )
        except TimeoutError:
            result = ScrapeResult(
                outcome=Outcome.ERROR,
                url=row.url,
                target_type=TargetType(row.target_type),
                error="the task took longer than its timeout",
                error_code="task_timeout",
            )
        except Exception as exc:
            log.exception("task %s failed unexpectedly", row.id)
            result = ScrapeResult(
                outcome=Outcome.ERROR,
                url=row.url,
                target_type=TargetType(row.target_type),
                error=f"internal error: {type(exc).__name__}",
                error_code="internal_error",
            )
        self.scraper.metrics.latency.labels(result.fetched_with or mode).observe(time.monotonic() - started)
        if result.outcome is Outcome.ERROR and result.error_code in _TRANSIENT and row.attempts < MAX_ATTEMPTS:
            await self.repo.requeue(row.id)
            self.notify()
            return
        status = TaskStatus.FAILED if result.outcome is Outcome.ERROR else TaskStatus.COMPLETED
        delivery = None
        if row.webhook_url and row.webhook_secret:
            payload = {"task_id": str(row.id), "status": status.value, "result": result.model_dump(mode="json")}
            event = "scrape.task.completed"
            delivery = NewDelivery(row.webhook_url, row.webhook_secret, event, event_body(event, payload))
        error = result.error if status is TaskStatus.FAILED else None
        recorded = await self.repo.finish(row.id, status, result, error, delivery)
        self.scraper.metrics.tasks.labels(result.outcome.value).inc()
        for waiter in self._waiters.get(row.id, []):
            if not waiter.done():
                waiter.set_result(None)
        if not recorded:
            return
        if delivery is not None:
            self._notify_webhooks()
        if row.job_id is not None:
            await self.close_job(row.job_id)

    def _notify_webhooks(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.notify()

    async def close_job(self, job_id: uuid.UUID) -> None:
        def announce(job: asyncpg.Record, progress: JobProgress) -> NewDelivery | None:
            if not job["webhook_url"] or not job["webhook_secret"]:
                return None
            event = "scrape.job.cancelled" if job["status"] == "cancelled" else "scrape.job.completed"
            payload = {"job_id": str(job_id), "status": job["status"], "progress": progress.model_dump()}
            return NewDelivery(job["webhook_url"], job["webhook_secret"], event, event_body(event, payload))

        if await self.repo.close_job_if_done(job_id, announce):
            self._notify_webhooks()
