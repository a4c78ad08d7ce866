"""The rate limiter never lets more than N calls into any window of P seconds (hypothesis, fake clock)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from morket.providers.base import RateLimitFeedback, RateLimitWindow
from morket.providers.limiter import (
    InMemoryProviderLimiter,
    RedisProviderLimiter,
    SlidingLog,
    WaitTooLong,
    window_margin,
)
from tests.providers.conftest import REDIS_URL, needs_redis

windows_strategy = st.lists(
    st.builds(RateLimitWindow, st.integers(1, 12), st.sampled_from([0.25, 1.0, 2.5, 60.0])),
    min_size=1,
    max_size=3,
    unique_by=lambda w: w.period,
)
# Gaps between arrivals: bursts (0), jitter, and pauses longer than a window.
gaps_strategy = st.lists(
    st.sampled_from([0.0, 0.0, 0.0, 0.001, 0.01, 0.1, 0.3, 1.0, 3.0, 61.0]), min_size=1, max_size=120
)


def assert_within_limits(slots: Sequence[float], windows: Sequence[RateLimitWindow]) -> None:
    """No interval of length P (indeed P + margin) holds more than N of the slots."""
    ordered = sorted(slots)
    for window in windows:
        span = window.period + window_margin(window.period)
        end = 0
        for start, slot in enumerate(ordered):
            # 10 µs of slack: Redis hands waits back rounded to the microsecond.
            while end < len(ordered) and ordered[end] < slot + span - 1e-5:
                end += 1
            assert end - start <= window.limit, f"{end - start} calls within {span}s of {slot}; limit {window.limit}"


@settings(max_examples=300, deadline=None)
@given(windows=windows_strategy, gaps=gaps_strategy)
def test_reservations_never_exceed_any_window(windows: list[RateLimitWindow], gaps: list[float]) -> None:
    log = SlidingLog()
    now, previous = 1_000.0, float("-inf")
    slots: list[float] = []
    for gap in gaps:
        now += gap
        before = log.next_slot("k", windows, now)
        slot = log.reserve("k", windows, now, max_wait=float("inf"))
        assert slot is not None and slot == before
        assert slot >= now and slot >= previous  # never early, never out of order
        # Never later than needed: the slot is the arrival, the paced successor of the previous
        # slot, or a window's edge.
        edges = [now, previous + log.spacing("k", windows, now)] + [
            s + w.period + window_margin(w.period)
            for w in windows
            for s in ([sorted(slots)[-w.limit]] if len(slots) >= w.limit else [])
        ]
        assert any(abs(slot - edge) < 1e-9 for edge in edges)
        slots.append(slot)
        previous = slot
    assert_within_limits(slots, windows)


@settings(max_examples=200, deadline=None)
@given(
    windows=windows_strategy,
    gaps=gaps_strategy,
    block_at=st.integers(0, 119),
    block=st.floats(0.1, 30.0),
)
def test_a_learned_retry_after_blocks_the_key(
    windows: list[RateLimitWindow], gaps: list[float], block_at: int, block: float
) -> None:
    log = SlidingLog()
    now = 0.0
    blocked_until = None
    for index, gap in enumerate(gaps):
        now += gap
        if index == block_at:
            log.learn("k", windows, RateLimitFeedback(retry_after=block), now)
            blocked_until = now + block
        slot = log.reserve("k", windows, now, max_wait=float("inf"))
        assert slot is not None
        if blocked_until is not None:
            assert slot >= blocked_until


def test_calls_are_paced_evenly() -> None:
    log = SlidingLog()
    hunter = (RateLimitWindow(15, 1.0), RateLimitWindow(500, 60.0))
    slots = [log.reserve("k", hunter, 0.0, max_wait=float("inf")) for _ in range(4)]
    gap = (60.0 + window_margin(60.0)) / 500  # the minute window is the tighter one
    assert slots == pytest.approx([0.0, gap, 2 * gap, 3 * gap])


def test_learned_limit_replaces_the_documented_one_and_expires() -> None:
    log = SlidingLog()
    minute = (RateLimitWindow(1000, 60.0),)
    first = log.reserve("k", minute, 0.0, max_wait=float("inf"))
    log.learn("k", minute, RateLimitFeedback(limit=2, period=60.0, remaining=1), now=0.0)
    slots = [first] + [log.reserve("k", minute, 0.0, max_wait=float("inf")) for _ in range(2)]
    span = 60.0 + window_margin(60.0)
    assert slots == pytest.approx([0.0, span / 2, span])
    assert log.effective_limit("k", minute[0], 4000.0) == 1000


def test_wait_too_long_reserves_nothing() -> None:
    log = SlidingLog()
    second = (RateLimitWindow(2, 1.0),)
    assert log.reserve("k", second, 0.0, max_wait=0.0) == 0.0
    assert log.reserve("k", second, 0.0, max_wait=0.5) is None
    assert log.reserve("k", second, 0.0, max_wait=5.0) == pytest.approx(0.525)
    assert log.reserve("k", second, 0.0, max_wait=5.0) == pytest.approx(1.05)
    assert log.reserve("other-key", second, 0.0, max_wait=0.0) == 0.0  # keys are independent


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


@settings(max_examples=50, deadline=None)
@given(windows=windows_strategy, callers=st.integers(1, 80))
async def test_concurrent_callers_share_one_budget(windows: list[RateLimitWindow], callers: int) -> None:
    time = FakeTime()
    limiter = InMemoryProviderLimiter(clock=time.clock, sleep=time.sleep)
    waits = await asyncio.gather(*(limiter.acquire("k", windows, max_wait=1e9) for _ in range(callers)))
    assert_within_limits([time.now + w for w in waits], windows)


async def test_in_memory_limiter_paces_real_time() -> None:
    limiter = InMemoryProviderLimiter()
    loop = asyncio.get_running_loop()
    start = loop.time()
    window = (RateLimitWindow(5, 0.2),)
    await asyncio.gather(*(limiter.acquire("k", window, max_wait=5.0) for _ in range(15)))
    elapsed = loop.time() - start
    assert elapsed >= 2 * (0.2 + window_margin(0.2)) - 0.01
    with pytest.raises(WaitTooLong) as too_long:
        await limiter.acquire("k", (RateLimitWindow(1, 60.0),), max_wait=1.0)
        await limiter.acquire("k", (RateLimitWindow(1, 60.0),), max_wait=1.0)
    assert too_long.value.retry_after > 1.0


@needs_redis
@settings(max_examples=30, deadline=None)
@given(windows=windows_strategy, gaps=gaps_strategy, workers=st.integers(1, 3))
async def test_redis_limiter_shares_the_budget_across_processes(
    windows: list[RateLimitWindow], gaps: list[float], workers: int
) -> None:
    time = FakeTime()
    time.now = 1_700_000_000.0
    key = f"prop-{uuid.uuid4().hex}"
    clients = [Redis.from_url(REDIS_URL) for _ in range(workers)]
    limiters = [
        RedisProviderLimiter(c, clock=time.clock, sleep=time.sleep, prefix="morket:test:plimit:") for c in clients
    ]
    try:
        slots = []
        for index, gap in enumerate(gaps):
            time.now += gap
            wait = await limiters[index % workers].acquire(key, windows, max_wait=1e9)
            slots.append(time.now + wait)
        assert all(b >= a - 1e-6 for a, b in itertools.pairwise(slots))
        assert_within_limits(slots, windows)
    finally:
        keys = [k async for k in clients[0].scan_iter(match=f"morket:test:plimit:{key}*")]
        if keys:
            await clients[0].delete(*keys)
        for c in clients:
            await c.aclose()


@needs_redis
async def test_redis_limiter_learns_blocks_and_limits() -> None:
    time = FakeTime()
    time.now = 1_700_000_000.0
    key = f"learn-{uuid.uuid4().hex}"
    async with Redis.from_url(REDIS_URL) as redis:
        limiter = RedisProviderLimiter(redis, clock=time.clock, sleep=time.sleep, prefix="morket:test:plimit:")
        minute = (RateLimitWindow(1000, 60.0),)
        try:
            await limiter.learn(key, minute, RateLimitFeedback(retry_after=5.0))
            assert await limiter.acquire(key, minute, max_wait=60.0) == pytest.approx(5.0)
            with pytest.raises(WaitTooLong):
                await limiter.learn(key, minute, RateLimitFeedback(retry_after=30.0))
                await limiter.acquire(key, minute, max_wait=10.0)
            time.now += 70.0
            await limiter.learn(key, minute, RateLimitFeedback(limit=1, period=60.0, remaining=0))
            assert await limiter.acquire(key, minute, max_wait=60.0) == 0.0  # 65 s since the last call
            with pytest.raises(WaitTooLong) as too_long:
                await limiter.acquire(key, minute, max_wait=10.0)
            assert too_long.value.retry_after == pytest.approx(60.0 + window_margin(60.0), abs=1e-3)
        finally:
            keys = [k async for k in redis.scan_iter(match=f"morket:test:plimit:{key}*")]
            if keys:
                await redis.delete(*keys)
