"""The circuit breaker against a plain model of its rules, in memory and in Redis (hypothesis state machines)."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from redis.asyncio import Redis

from morket.providers.breaker import (
    BreakerConfig,
    BreakerCore,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    InMemoryCircuitBreaker,
    Permit,
    RedisCircuitBreaker,
)
from tests.providers.conftest import REDIS_URL, needs_redis

CONFIG = BreakerConfig(window_size=10, failure_threshold=5, cooldown=60.0, probe_timeout=60.0)


@dataclass
class ModelPermit:
    probe: bool
    period: int  # the closed period (non-probe) or the probe number it was issued in


@dataclass
class BreakerModel:
    """The rules as written in the issue, with no cleverness: a list of outcomes since the last close."""

    state: str = "closed"
    outcomes: list[bool] = field(default_factory=list)
    opened_at: float = 0.0
    probe_at: float = 0.0
    closed_period: int = 0
    probe_number: int = 0

    def acquire(self, now: float) -> ModelPermit | None:
        if self.state == "closed":
            return ModelPermit(probe=False, period=self.closed_period)
        if self.state == "open" and now - self.opened_at < CONFIG.cooldown:
            return None
        if self.state == "half_open" and now - self.probe_at < CONFIG.probe_timeout:
            return None
        self.state = "half_open"
        self.probe_number += 1
        self.probe_at = now
        return ModelPermit(probe=True, period=self.probe_number)

    def record(self, permit: ModelPermit, failure: bool, now: float) -> None:
        if permit.probe:
            if self.state != "half_open" or permit.period != self.probe_number:
                return  # a probe that was given up on, or from an earlier half-open period
            if failure:
                self._open(now)
            else:
                self.state = "closed"
                self.closed_period += 1
                self.outcomes = []
            return
        if self.state != "closed" or permit.period != self.closed_period:
            return  # a call that started before the breaker opened
        self.outcomes.append(failure)
        if sum(self.outcomes[-CONFIG.window_size :]) >= CONFIG.failure_threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self.state = "open"
        self.opened_at = now
        self.outcomes = []
        self.probe_number += 1  # no probe of the past may act on the next half-open period

    @property
    def window_failures(self) -> int:
        return sum(self.outcomes[-CONFIG.window_size :])


class BreakerMachine(RuleBasedStateMachine):
    """Drive the real breaker and the model with the same calls and a fake clock; they must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000.0
        self.model = BreakerModel()
        self.outstanding: list[tuple[Permit, ModelPermit]] = []

    # The implementation under test; subclasses swap in Redis.
    def real_acquire(self) -> Permit | float:
        raise NotImplementedError

    def real_record(self, permit: Permit, failure: bool) -> None:
        raise NotImplementedError

    def real_state(self) -> tuple[BreakerState, int]:
        raise NotImplementedError

    @rule(seconds=st.sampled_from([0.0, 0.001, 1.0, 30.0, 59.999, 60.0, 61.0, 120.0]))
    def advance(self, seconds: float) -> None:
        self.now = round(self.now + seconds, 3)

    @rule()
    def acquire(self) -> None:
        self._acquire()

    def _acquire(self) -> bool:
        expected = self.model.acquire(self.now)
        actual = self.real_acquire()
        if expected is None:
            assert not isinstance(actual, Permit), f"granted while the model refuses ({self.model.state})"
            assert actual > 0
            return False
        assert isinstance(actual, Permit), f"refused ({actual}s) while the model grants ({self.model.state})"
        assert actual.probe == expected.probe
        self.outstanding.append((actual, expected))
        return True

    @rule(failure=st.booleans())
    def call(self, failure: bool) -> None:
        """A whole call: permit, then its result (the common case, so runs reach the open state)."""
        if self._acquire():
            permit, model_permit = self.outstanding.pop()
            self.model.record(model_permit, failure, self.now)
            self.real_record(permit, failure)

    @precondition(lambda self: self.outstanding)
    @rule(data=st.data(), failure=st.booleans())
    def record(self, data: st.DataObject, failure: bool) -> None:
        index = data.draw(st.integers(0, len(self.outstanding) - 1))
        permit, model_permit = self.outstanding.pop(index)
        self.model.record(model_permit, failure, self.now)
        self.real_record(permit, failure)

    @invariant()
    def same_state(self) -> None:
        state, failures = self.real_state()
        assert state.value == self.model.state
        assert failures == self.model.window_failures

    @invariant()
    def at_most_one_live_probe(self) -> None:
        live = [m for _, m in self.outstanding if m.probe and m.period == self.model.probe_number]
        assert len(live) <= 1


class CoreBreakerMachine(BreakerMachine):
    @initialize()
    def make(self) -> None:
        self.core = BreakerCore(CONFIG)

    def real_acquire(self) -> Permit | float:
        return self.core.acquire(self.now)

    def real_record(self, permit: Permit, failure: bool) -> None:
        self.core.record(permit, failure, self.now)

    def real_state(self) -> tuple[BreakerState, int]:
        snapshot = self.core.snapshot(self.now)
        return snapshot.state, snapshot.failures


class RedisBreakerMachine(BreakerMachine):
    @initialize()
    def make(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(REDIS_URL)
        self.breaker = RedisCircuitBreaker(
            self.redis, f"prop-{uuid.uuid4().hex}", CONFIG, clock=lambda: self.now, prefix="morket:test:breaker:"
        )

    def teardown(self) -> None:
        if hasattr(self, "loop"):
            self.loop.run_until_complete(self.breaker.reset())
            self.loop.run_until_complete(self.redis.aclose())
            self.loop.close()

    def real_acquire(self) -> Permit | float:
        try:
            return self.loop.run_until_complete(self.breaker.acquire())
        except CircuitOpen as exc:
            return exc.retry_after

    def real_record(self, permit: Permit, failure: bool) -> None:
        self.loop.run_until_complete(self.breaker.record(permit, failure=failure))

    def real_state(self) -> tuple[BreakerState, int]:
        snapshot = self.loop.run_until_complete(self.breaker.snapshot())
        return snapshot.state, snapshot.failures


CoreBreakerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
test_breaker_matches_model = CoreBreakerMachine.TestCase

RedisBreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
test_redis_breaker_matches_model = needs_redis(RedisBreakerMachine.TestCase)


async def test_breaker_opens_after_five_failures_and_recovers_through_one_probe() -> None:
    now = [0.0]
    breaker = InMemoryCircuitBreaker(CONFIG, clock=lambda: now[0])
    for failure in (False, True, True, False, True, True):
        await breaker.record(await breaker.acquire(), failure=failure)
    assert (await breaker.snapshot()).state is BreakerState.CLOSED
    await breaker.record(await breaker.acquire(), failure=True)
    assert (await breaker.snapshot()).state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        await breaker.acquire()
    assert refused.value.retry_after == pytest.approx(60.0)
    now[0] = 60.0
    probe = await breaker.acquire()
    assert probe.probe
    with pytest.raises(CircuitOpen):
        await breaker.acquire()  # only one probe at a time
    await breaker.record(probe, failure=False)
    assert (await breaker.snapshot()).state is BreakerState.CLOSED
    assert not (await breaker.acquire()).probe


async def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    now = [0.0]
    breaker = InMemoryCircuitBreaker(CONFIG, clock=lambda: now[0])
    for _ in range(5):
        await breaker.record(await breaker.acquire(), failure=True)
    now[0] = 61.0
    await breaker.record(await breaker.acquire(), failure=True)
    snapshot = await breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN and snapshot.retry_after == pytest.approx(60.0)


async def test_a_late_result_from_before_the_opening_is_ignored() -> None:
    now = [0.0]
    breaker = InMemoryCircuitBreaker(CONFIG, clock=lambda: now[0])
    slow = await breaker.acquire()
    for _ in range(5):
        await breaker.record(await breaker.acquire(), failure=True)
    now[0] = 60.0
    probe = await breaker.acquire()
    await breaker.record(slow, failure=False)  # must not close the breaker: it was not the probe
    assert (await breaker.snapshot()).state is BreakerState.HALF_OPEN
    await breaker.record(probe, failure=False)
    assert (await breaker.snapshot()).state is BreakerState.CLOSED


@needs_redis
async def test_redis_breaker_state_is_shared_between_processes() -> None:
    now = [0.0]
    name = f"shared-{uuid.uuid4().hex}"
    async with Redis.from_url(REDIS_URL) as first_redis, Redis.from_url(REDIS_URL) as second_redis:
        first = RedisCircuitBreaker(first_redis, name, CONFIG, clock=lambda: now[0], prefix="morket:test:breaker:")
        second = RedisCircuitBreaker(second_redis, name, CONFIG, clock=lambda: now[0], prefix="morket:test:breaker:")
        try:
            for worker in (first, second, first, second, first):
                await worker.record(await worker.acquire(), failure=True)
            with pytest.raises(CircuitOpen):
                await second.acquire()
            now[0] = 60.0
            probe = await first.acquire()
            with pytest.raises(CircuitOpen):
                await second.acquire()
            await first.record(probe, failure=False)
            assert (await second.snapshot()).state is BreakerState.CLOSED
        finally:
            await first.reset()


# The instants of a counterexample hypothesis found: 1989.999 + 60 rounds to the float 2049.999, but
# 2049.999 - 1989.999 is 59.99999999999977. The cooldown (and the probe timeout) is over when that
# much time has elapsed on the clock, not when `now` reaches the rounded sum, so the breaker refuses
# at 2049.999 and grants one float later.
OPENED_AT = 1989.999
ROUNDED_DEADLINE = 2049.999


async def _cooldown_and_probe_timeout_end_on_elapsed_time(breaker: CircuitBreaker, now: list[float]) -> None:
    assert ROUNDED_DEADLINE == OPENED_AT + 60.0 and ROUNDED_DEADLINE - OPENED_AT < 60.0
    just_after = math.nextafter(ROUNDED_DEADLINE, math.inf)
    now[0] = OPENED_AT
    for _ in range(5):
        await breaker.record(await breaker.acquire(), failure=True)
    now[0] = ROUNDED_DEADLINE
    with pytest.raises(CircuitOpen) as refused:
        await breaker.acquire()
    assert refused.value.state is BreakerState.OPEN and 0 < refused.value.retry_after < 1e-9
    assert (await breaker.snapshot()).retry_after == pytest.approx(refused.value.retry_after)  # Lua prints 14 digits
    now[0] = just_after
    probe = await breaker.acquire()
    assert probe.probe

    # The probe timeout: a probe out since 1989.999 still holds its slot at 2049.999.
    await breaker.reset()
    now[0] = OPENED_AT - 60.0
    for _ in range(5):
        await breaker.record(await breaker.acquire(), failure=True)
    now[0] = OPENED_AT
    lost_probe = await breaker.acquire()
    assert lost_probe.probe
    now[0] = ROUNDED_DEADLINE
    with pytest.raises(CircuitOpen) as waiting:
        await breaker.acquire()
    assert waiting.value.state is BreakerState.HALF_OPEN and 0 < waiting.value.retry_after < 1e-9
    now[0] = just_after
    second_probe = await breaker.acquire()
    assert second_probe.probe and second_probe.generation != lost_probe.generation


async def test_cooldown_and_probe_timeout_end_on_elapsed_time_in_memory() -> None:
    now = [0.0]
    await _cooldown_and_probe_timeout_end_on_elapsed_time(InMemoryCircuitBreaker(CONFIG, clock=lambda: now[0]), now)


@needs_redis
async def test_cooldown_and_probe_timeout_end_on_elapsed_time_in_redis() -> None:
    now = [0.0]
    async with Redis.from_url(REDIS_URL) as redis:
        name = f"elapsed-{uuid.uuid4().hex}"
        breaker = RedisCircuitBreaker(redis, name, CONFIG, clock=lambda: now[0], prefix="morket:test:breaker:")
        try:
            await _cooldown_and_probe_timeout_end_on_elapsed_time(breaker, now)
        finally:
            await breaker.reset()
