"""robots.txt (Disallow and Crawl-delay), the per-domain token bucket with YAML overrides, and the
per-domain circuit breaker: as rules over injected clocks, and through the scraper on loopback."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

from morket_scraper.models import FetchMode, Outcome, TargetType
from morket_scraper.politeness import BreakerState, DomainBreaker, DomainLimiter, load_policies
from morket_scraper.service import Scraper
from tests import pages
from tests.conftest import Site


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_paces_each_domain_and_honours_overrides(tmp_path: Path) -> None:
    policy_file = tmp_path / "policies.yaml"
    policy_file.write_text("domains:\n  slow.example: {rate_per_second: 0.5, burst: 1}\n")
    clock = FakeClock()
    limiter = DomainLimiter(10.0, 2, load_policies(policy_file), clock=clock)
    assert [limiter.reserve("fast.example") for _ in range(2)] == [0.0, 0.0]
    assert limiter.reserve("fast.example") == 0.1
    # Subdomains inherit their parent's entry; the slow one allows a call every 2 s.
    assert limiter.reserve("www.slow.example") == 0.0
    assert limiter.reserve("www.slow.example") == 2.0
    # Crawl-delay: one call per delay, no burst, whatever the configured rate.
    assert limiter.reserve("polite.example", crawl_delay=5.0) == 0.0
    assert limiter.reserve("polite.example", crawl_delay=5.0) == 5.0
    clock.now += 10.0
    assert limiter.reserve("polite.example", crawl_delay=5.0) == 0.0


def test_breaker_opens_on_failures_in_the_window_and_cools_down() -> None:
    clock = FakeClock()
    breaker = DomainBreaker(window=60, min_calls=4, failure_ratio=0.5, cooldown=120, clock=clock)
    for ok in (True, False, True):
        breaker.record("a.example", ok)
    assert breaker.state("a.example") is BreakerState.CLOSED
    clock.now += 61  # the old outcomes leave the window
    for _ in range(3):
        breaker.record("a.example", False)
    assert breaker.state("a.example") is BreakerState.CLOSED  # only 3 calls in the window
    breaker.record("a.example", False)
    assert breaker.state("a.example") is BreakerState.OPEN and not breaker.allow("a.example")
    assert breaker.allow("b.example")  # per domain
    clock.now += 119
    assert not breaker.allow("a.example")
    clock.now += 1
    assert breaker.allow("a.example")  # one trial call
    assert not breaker.allow("a.example")
    breaker.record("a.example", False)
    assert breaker.state("a.example") is BreakerState.OPEN  # failed trial: another cooldown
    clock.now += 120
    assert breaker.allow("a.example")
    breaker.record("a.example", True)
    assert breaker.state("a.example") is BreakerState.CLOSED


async def test_robots_disallow_is_honoured(make_scraper: Callable[..., Awaitable[Scraper]], site: Site) -> None:
    scraper = await make_scraper(respect_robots=True)
    site.page(
        "/robots.txt",
        "User-agent: MorketBot\nDisallow: /private\n\nUser-agent: *\nAllow: /\n",
        content_type="text/plain",
    )
    private = site.page("/private/team", pages.PERSON_HTML)
    public = site.page("/team", pages.PERSON_HTML)
    result = await scraper.scrape(private, TargetType.PERSON)
    assert (result.outcome, result.error_code) == (Outcome.REFUSED, "robots_disallowed")
    assert site.hits_to("/private/team") == []
    assert (await scraper.scrape(public, TargetType.PERSON)).outcome is Outcome.SUCCESS
    assert len(site.hits_to("/robots.txt")) == 1  # cached per origin


async def test_crawl_delay_is_honoured(make_scraper: Callable[..., Awaitable[Scraper]], site: Site) -> None:
    scraper = await make_scraper(respect_robots=True)
    site.page("/robots.txt", "User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain")
    urls = [site.page(f"/p{i}", pages.COMPANY_MICRODATA) for i in range(4)]
    for url in urls:
        result = await scraper.scrape(url, TargetType.COMPANY, FetchMode.HTTP, follow_links=False)
        assert result.outcome is Outcome.SUCCESS
    times = sorted(h.at for h in site.hits if h.path.startswith("/p"))
    assert len(times) == 4
    # Three intervals of at least the delay (a little slack for timer granularity).
    assert times[-1] - times[0] >= 3 * 0.4 * 0.95
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.4 * 0.95


async def test_breaker_opens_on_a_failing_domain(make_scraper: Callable[..., Awaitable[Scraper]], site: Site) -> None:
    scraper = await make_scraper(respect_robots=False, breaker_min_calls=3, breaker_failure_ratio=0.5)
    down = site.page("/down", "unavailable", status=503)
    outcomes = [(await scraper.scrape(down, TargetType.COMPANY, FetchMode.HTTP)).outcome for _ in range(5)]
    assert outcomes == [Outcome.ERROR] * 3 + [Outcome.BLOCKED] * 2
    assert len(site.hits_to("/down")) == 3  # once open, the site is left alone
    blocked = await scraper.scrape(down, TargetType.COMPANY)
    assert blocked.error_code == "circuit_open" and "127.0.0.1" in (blocked.error or "")
    assert "127.0.0.1" in scraper.breaker.open_domains()
