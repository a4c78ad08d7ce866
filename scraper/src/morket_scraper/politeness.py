"""Politeness: robots.txt (with Crawl-delay), a token bucket per domain with YAML overrides, and
a circuit breaker per domain. Clocks and sleeps are injected so the rules are testable as data."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from protego import Protego
from pydantic import BaseModel, ConfigDict, Field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class DomainPolicy(BaseModel):
    """Overrides for one domain (and its subdomains) from SCRAPER_POLICY_FILE."""

    model_config = ConfigDict(extra="forbid")

    rate_per_second: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    respect_robots: bool | None = None
    always_browser: bool | None = None
    # The browser loads this site's pages with other sites' scripts, styles and API calls (off:
    # only the site's own; trackers and images, fonts, media are never loaded).
    third_party_scripts: bool | None = None


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domains: dict[str, DomainPolicy] = Field(default_factory=dict)


def load_policies(path: Path | None) -> dict[str, DomainPolicy]:
    """`domains: {example.com: {rate_per_second: 0.5, burst: 1, respect_robots: true}}`."""
    if path is None:
        return {}
    data: Any = yaml.safe_load(path.read_text()) or {}
    return {k.lower().rstrip("."): v for k, v in PolicyFile.model_validate(data).domains.items()}


def policy_for(policies: dict[str, DomainPolicy], domain: str) -> DomainPolicy:
    """The most specific entry: a.b.example.com, then b.example.com, then example.com."""
    parts = domain.lower().split(".")
    for i in range(len(parts)):
        found = policies.get(".".join(parts[i:]))
        if found is not None:
            return found
    return DomainPolicy()


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float


class DomainLimiter:
    """A token bucket per domain. Crawl-delay makes the bucket one token every `delay` seconds, no burst."""

    def __init__(
        self,
        rate: float,
        burst: int,
        policies: dict[str, DomainPolicy] | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.policies = policies or {}
        self._buckets: dict[str, _Bucket] = {}
        self._clock = clock
        self._sleep = sleep

    def _bucket(self, domain: str, crawl_delay: float | None) -> _Bucket:
        policy = policy_for(self.policies, domain)
        rate = policy.rate_per_second or self.rate
        burst = float(policy.burst or self.burst)
        if crawl_delay:
            rate = min(rate, 1.0 / crawl_delay)
            burst = 1.0
        bucket = self._buckets.get(domain)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self._buckets[domain] = _Bucket(rate, burst, burst, self._clock())
        return bucket

    def reserve(self, domain: str, crawl_delay: float | None = None) -> float:
        """Take a token now and return how long to wait before using it (0 when one was ready)."""
        bucket = self._bucket(domain, crawl_delay)
        now = self._clock()
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.updated) * bucket.rate)
        bucket.updated = now
        bucket.tokens -= 1.0
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / bucket.rate

    async def acquire(self, domain: str, crawl_delay: float | None = None) -> float:
        wait = self.reserve(domain, crawl_delay)
        if wait > 0:
            await self._sleep(wait)
        return wait


class RobotsCache:
    """robots.txt per origin, fetched once an hour through `fetch` (None when there is none)."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[str | None]],
        agent: str,
        *,
        ttl: float = 3600.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.agent = agent
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Protego | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, origin: str) -> Protego | None:
        cached = self._cache.get(origin)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return cached[1]
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._cache.get(origin)
            if cached is not None and self._clock() - cached[0] < self.ttl:
                return cached[1]
            text = await self._fetch(origin + "/robots.txt")
            parsed = Protego.parse(text) if text else None
            self._cache[origin] = (self._clock(), parsed)
            return parsed

    async def allowed(self, origin: str, url: str) -> tuple[bool, float | None]:
        """(may fetch, Crawl-delay in seconds) for our agent."""
        rules = await self.rules(origin)
        if rules is None:
            return True, None
        delay = rules.crawl_delay(self.agent)
        return bool(rules.can_fetch(url, self.agent)), float(delay) if delay else None


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Circuit:
    outcomes: deque[tuple[float, bool]] = field(default_factory=deque)
    opened_at: float | None = None
    trial_running: bool = False


class DomainBreaker:
    """Per domain: opens when, within the sliding window, at least `min_calls` calls were made and
    `failure_ratio` of them failed; after `cooldown` one trial call decides (success closes it)."""

    def __init__(
        self,
        *,
        window: float = 60.0,
        min_calls: int = 5,
        failure_ratio: float = 0.5,
        cooldown: float = 120.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.window = window
        self.min_calls = min_calls
        self.failure_ratio = failure_ratio
        self.cooldown = cooldown
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def state(self, domain: str) -> BreakerState:
        circuit = self._circuits.get(domain)
        if circuit is None or circuit.opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - circuit.opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def retry_after(self, domain: str) -> float:
        circuit = self._circuits.get(domain)
        if circuit is None or circuit.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - circuit.opened_at))

    def allow(self, domain: str) -> bool:
        state = self.state(domain)
        if state is BreakerState.CLOSED:
            return True
        circuit = self._circuits[domain]
        if state is BreakerState.HALF_OPEN and not circuit.trial_running:
            circuit.trial_running = True
            return True
        return False

    def record(self, domain: str, ok: bool) -> None:
        circuit = self._circuits.setdefault(domain, _Circuit())
        now = self._clock()
        if circuit.opened_at is not None:
            if circuit.trial_running:
                circuit.trial_running = False
                if ok:
                    self._circuits[domain] = _Circuit()
                else:
                    circuit.opened_at = now
            return
        circuit.outcomes.append((now, ok))
        while circuit.outcomes and now - circuit.outcomes[0][0] > self.window:
            circuit.outcomes.popleft()
        failures = sum(1 for _, good in circuit.outcomes if not good)
        if len(circuit.outcomes) >= self.min_calls and failures / len(circuit.outcomes) >= self.failure_ratio:
            circuit.opened_at = now
            circuit.outcomes.clear()

    def open_domains(self) -> list[str]:
        return [d for d in self._circuits if self.state(d) is not BreakerState.CLOSED]
