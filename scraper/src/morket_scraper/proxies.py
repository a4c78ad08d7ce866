"""Proxy rotation: round robin over the configured proxies, skipping the unhealthy ones and those
cooling down for a domain; a background check reconnects to the dead ones."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from morket_scraper.politeness import Clock


@dataclass
class ProxyState:
    url: str
    healthy: bool = True
    failures: int = 0
    successes: int = 0
    last_error: str | None = None
    # domain -> monotonic time until which this proxy is not used for it
    cooldowns: dict[str, float] = field(default_factory=dict)


class ProxyPool:
    def __init__(self, urls: list[str], *, cooldown: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.proxies = [ProxyState(u) for u in urls]
        self.cooldown = cooldown
        self._clock = clock
        self._next = 0

    @property
    def enabled(self) -> bool:
        return bool(self.proxies)

    def pick(self, domain: str) -> ProxyState | None:
        """The next usable proxy for `domain`; None when proxies are off. Raises when all are unusable."""
        if not self.proxies:
            return None
        now = self._clock()
        for offset in range(len(self.proxies)):
            proxy = self.proxies[(self._next + offset) % len(self.proxies)]
            if proxy.healthy and proxy.cooldowns.get(domain, 0.0) <= now:
                self._next = (self._next + offset + 1) % len(self.proxies)
                return proxy
        raise NoProxyAvailable("every proxy is down or cooling down for " + domain)

    def report(self, proxy: ProxyState, domain: str, *, ok: bool, error: str | None = None, dead: bool = False) -> None:
        if ok:
            proxy.successes += 1
            proxy.healthy = True
            return
        proxy.failures += 1
        proxy.last_error = error
        if dead:
            proxy.healthy = False
        else:
            proxy.cooldowns[domain] = self._clock() + self.cooldown

    async def check(self, timeout: float = 2.0) -> None:
        """A TCP connect to each proxy: the ones that answer are healthy again."""

        async def probe(proxy: ProxyState) -> None:
            parts = urlsplit(proxy.url)
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(parts.hostname, parts.port or 80), timeout=timeout
                )
            except (OSError, TimeoutError) as exc:
                proxy.healthy = False
                proxy.last_error = f"health check: {type(exc).__name__}"
                return
            writer.close()
            proxy.healthy = True

        await asyncio.gather(*(probe(p) for p in self.proxies))

    def status(self) -> list[dict[str, object]]:
        return [
            {"url": p.url, "healthy": p.healthy, "failures": p.failures, "successes": p.successes} for p in self.proxies
        ]


class NoProxyAvailable(RuntimeError):
    pass
