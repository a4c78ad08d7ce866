"""Proxy rotation through two local proxies, one of them dead: every page still arrives, through
the live one, and the dead one is marked down (and back up once the health check reaches it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from morket.devstack.ports import free_port

from morket_scraper.models import FetchMode, Outcome, TargetType
from morket_scraper.proxies import NoProxyAvailable, ProxyPool
from morket_scraper.service import Scraper
from tests import pages
from tests.conftest import Site


class ForwardProxy:
    """A minimal HTTP forward proxy (absolute-form GET), counting what it forwards."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, _, rest = head.decode("latin-1").partition("\r\n")
                method, target, version = line.split(" ")
                parts = urlsplit(target)
                self.forwarded.append(target)
                upstream_r, upstream_w = await asyncio.open_connection(parts.hostname, parts.port or 80)
                headers = [h for h in rest.split("\r\n") if h and not h.lower().startswith(("connection", "proxy-"))]
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                request = f"{method} {path or '/'} {version}\r\n" + "\r\n".join([*headers, "Connection: close"])
                upstream_w.write(request.encode("latin-1") + b"\r\n\r\n")
                await upstream_w.drain()
                response = await upstream_r.read()
                upstream_w.close()
                # One response per connection: tell the client so.
                head_end = response.find(b"\r\n\r\n")
                status_and_headers = response[:head_end].replace(b"Connection: keep-alive", b"Connection: close")
                writer.write(status_and_headers + response[head_end:])
                await writer.drain()
                break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def live_proxy() -> AsyncIterator[ForwardProxy]:
    proxy = ForwardProxy()
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_rotation_skips_the_dead_proxy(
    make_scraper: Callable[..., Awaitable[Scraper]], site: Site, live_proxy: ForwardProxy
) -> None:
    dead_port = free_port()  # nothing listens here
    dead = f"http://127.0.0.1:{dead_port}"
    scraper = await make_scraper(respect_robots=False, proxies=f"{dead},{live_proxy.url}")
    urls = [site.page(f"/c{i}", pages.COMPANY_MICRODATA) for i in range(6)]
    results = [await scraper.scrape(u, TargetType.COMPANY, FetchMode.HTTP, follow_links=False) for u in urls]
    # The first call may have gone to the dead proxy and been retried by the queue; here the
    # scraper alone answers: the dead one fails once, then rotation only uses the live one.
    failed = [r for r in results if r.outcome is not Outcome.SUCCESS]
    assert len(failed) <= 1 and all(r.error_code == "proxy_error" for r in failed)
    assert sorted(live_proxy.forwarded) == sorted(urls[len(failed) :])
    states = {p.url: p for p in scraper.proxies.proxies}
    assert states[dead].healthy is False and states[dead].failures == 1
    assert states[live_proxy.url].successes == 6 - len(failed)
    # The health check finds the live one healthy and the dead one still down; once something
    # listens on the dead port, it is back in rotation.
    await scraper.proxies.check()
    assert [p.healthy for p in scraper.proxies.proxies] == [False, True]
    revived = ForwardProxy()
    await revived.start(dead_port)
    try:
        await scraper.proxies.check()
        assert states[dead].healthy is True
        more = [site.page(f"/d{i}", pages.COMPANY_MICRODATA) for i in range(4)]
        for url in more:
            result = await scraper.scrape(url, TargetType.COMPANY, FetchMode.HTTP, follow_links=False)
            assert result.outcome is Outcome.SUCCESS
        assert len(revived.forwarded) == 2 and len(live_proxy.forwarded) == 6 - len(failed) + 2
    finally:
        await revived.stop()


def test_per_domain_cooldown_and_exhaustion() -> None:
    now = [0.0]
    pool = ProxyPool(["http://p1", "http://p2"], cooldown=30, clock=lambda: now[0])
    first = pool.pick("a.example")
    assert first is not None
    pool.report(first, "a.example", ok=False, error="blocked")
    # p1 cools down for a.example only.
    assert {pool.pick("a.example").url for _ in range(3)} == {"http://p2"}  # type: ignore[union-attr]
    assert pool.pick("b.example") is not None
    second = pool.proxies[1]
    pool.report(second, "a.example", ok=False, error="blocked")
    with pytest.raises(NoProxyAvailable):
        pool.pick("a.example")
    now[0] = 31
    assert pool.pick("a.example") is not None
