"""Circuit breaker per provider: a sliding window of calls, open after too many failures.

Closed: every call goes through; each result enters a window of the last `window_size` calls.
When `failure_threshold` of them are failures the breaker opens: calls are refused for
`cooldown` seconds. Then it is half-open: exactly one probe call goes through. A good probe
closes the breaker (with an empty window); a failed one opens it again. Only transient errors
and timeouts are failures; a no-match or a rejected key says nothing about the provider's health.

Each permit carries the generation it was issued in. A result that arrives after the breaker
changed state (a slow call from before it opened, a probe given up on) is ignored, so it cannot
close a breaker it did not probe. A probe that never reports frees its slot after
`probe_timeout`, so a crashed worker cannot wedge the breaker half-open.

Every wait is decided on the elapsed time, `now - since < period`, never on a deadline
`now < since + period`: the subtraction of two clock readings is exact, while the sum is rounded
to the nearest float and can fall on `now` while less than `period` has passed (opened at
1989.999, asked at 2049.999: 59.99999999999977 s). The Lua scripts compare the same way.

Two implementations share these rules: `InMemoryCircuitBreaker` (one process) and
`RedisCircuitBreaker` (every process on one Redis, atomic through Lua scripts).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    window_size: int = 10
    failure_threshold: int = 5
    cooldown: float = 60.0
    probe_timeout: float = 60.0
    # While a probe is out, other callers are told to come back after this long.
    half_open_retry_after: float = 1.0


@dataclass(frozen=True)
class Permit:
    generation: int
    probe: bool


@dataclass(frozen=True)
class BreakerSnapshot:
    state: BreakerState
    failures: int
    calls: int
    retry_after: float | None


class CircuitOpen(Exception):
    def __init__(self, state: BreakerState, retry_after: float) -> None:
        super().__init__(f"circuit {state.value}; retry in {retry_after:.1f}s")
        self.state = state
        self.retry_after = retry_after


class CircuitBreaker(Protocol):
    async def acquire(self) -> Permit:
        """A permit to call, or CircuitOpen."""
        ...

    async def record(self, permit: Permit, *, failure: bool) -> None: ...

    async def snapshot(self) -> BreakerSnapshot: ...

    async def reset(self) -> None: ...


class BreakerCore:
    """The state machine, without clock or storage (the in-memory breaker and the tests use it)."""

    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self.state = BreakerState.CLOSED
        self.window: deque[bool] = deque(maxlen=config.window_size)
        self.opened_at = 0.0
        self.probe_at: float | None = None
        self.generation = 0

    def acquire(self, now: float) -> Permit | float:
        """A permit, or the seconds to wait before asking again."""
        if self.state is BreakerState.CLOSED:
            return Permit(self.generation, probe=False)
        if self.state is BreakerState.OPEN:
            elapsed = now - self.opened_at
            if elapsed < self.config.cooldown:
                return self.config.cooldown - elapsed
            self.state = BreakerState.HALF_OPEN
            return self._grant_probe(now)
        assert self.probe_at is not None
        elapsed = now - self.probe_at
        if elapsed < self.config.probe_timeout:
            return min(self.config.half_open_retry_after, self.config.probe_timeout - elapsed)
        return self._grant_probe(now)

    def _grant_probe(self, now: float) -> Permit:
        self.generation += 1
        self.probe_at = now
        return Permit(self.generation, probe=True)

    def record(self, permit: Permit, failure: bool, now: float) -> None:
        if permit.generation != self.generation:
            return
        if self.state is BreakerState.CLOSED and not permit.probe:
            self.window.append(failure)
            if sum(self.window) >= self.config.failure_threshold:
                self._open(now)
        elif self.state is BreakerState.HALF_OPEN and permit.probe:
            if failure:
                self._open(now)
            else:
                self.state = BreakerState.CLOSED
                self.window.clear()
                self.probe_at = None
                self.generation += 1

    def _open(self, now: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = now
        self.window.clear()
        self.probe_at = None
        self.generation += 1

    def snapshot(self, now: float) -> BreakerSnapshot:
        retry_after = None
        if self.state is BreakerState.OPEN:
            retry_after = max(0.0, self.config.cooldown - (now - self.opened_at))
        return BreakerSnapshot(self.state, sum(self.window), len(self.window), retry_after)


class InMemoryCircuitBreaker:
    """One process's breaker. Every method runs without awaiting, so the event loop serializes them."""

    def __init__(self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or BreakerConfig()
        self._clock = clock
        self._core = BreakerCore(self.config)

    async def acquire(self) -> Permit:
        decision = self._core.acquire(self._clock())
        if isinstance(decision, Permit):
            return decision
        raise CircuitOpen(self._core.state, decision)

    async def record(self, permit: Permit, *, failure: bool) -> None:
        self._core.record(permit, failure, self._clock())

    async def snapshot(self) -> BreakerSnapshot:
        return self._core.snapshot(self._clock())

    async def reset(self) -> None:
        self._core = BreakerCore(self.config)


# The same machine in Lua, on one hash: state, window ('0'/'1' per call, oldest first),
# opened_at, probe_at, gen. Returns {granted, probe, generation, retry_after, state}.
_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
local probe_timeout = tonumber(ARGV[3])
local half_open_retry = tonumber(ARGV[4])
local ttl_ms = tonumber(ARGV[5])
local h = redis.call('HMGET', key, 'state', 'opened_at', 'probe_at', 'gen')
local state = h[1] or 'closed'
local opened_at = tonumber(h[2] or '0')
local probe_at = tonumber(h[3] or '')
local gen = tonumber(h[4] or '0')
if state == 'closed' then
  return {1, 0, gen, '0', state}
end
if state == 'open' then
  if now - opened_at < cooldown then
    return {0, 0, gen, tostring(cooldown - (now - opened_at)), state}
  end
elseif probe_at ~= nil and now - probe_at < probe_timeout then
  return {0, 0, gen, tostring(math.min(half_open_retry, probe_timeout - (now - probe_at))), state}
end
gen = gen + 1
redis.call('HSET', key, 'state', 'half_open', 'probe_at', ARGV[1], 'gen', gen)
redis.call('PEXPIRE', key, ttl_ms)
return {1, 1, gen, '0', 'half_open'}
"""

_RECORD = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local permit_gen = tonumber(ARGV[2])
local probe = ARGV[3] == '1'
local failure = ARGV[4] == '1'
local window_size = tonumber(ARGV[5])
local threshold = tonumber(ARGV[6])
local ttl_ms = tonumber(ARGV[7])
local h = redis.call('HMGET', key, 'state', 'window', 'gen')
local state = h[1] or 'closed'
local window = h[2] or ''
local gen = tonumber(h[3] or '0')
if permit_gen ~= gen then
  return state
end
local function open()
  redis.call('HSET', key, 'state', 'open', 'opened_at', ARGV[1], 'window', '', 'gen', gen + 1)
  redis.call('HDEL', key, 'probe_at')
  return 'open'
end
local result = state
if state == 'closed' and not probe then
  window = window .. (failure and '1' or '0')
  if string.len(window) > window_size then
    window = string.sub(window, -window_size)
  end
  local _, failures = string.gsub(window, '1', '')
  if failures >= threshold then
    result = open()
  else
    redis.call('HSET', key, 'window', window)
  end
elseif state == 'half_open' and probe then
  if failure then
    result = open()
  else
    redis.call('HSET', key, 'state', 'closed', 'window', '', 'gen', gen + 1)
    redis.call('HDEL', key, 'probe_at')
    result = 'closed'
  end
end
redis.call('PEXPIRE', key, ttl_ms)
return result
"""


class RedisCircuitBreaker:
    """The breaker shared by every process using one Redis (wall-clock time, injectable)."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        config: BreakerConfig | None = None,
        clock: Callable[[], float] = time.time,
        prefix: str = "morket:breaker:",
    ) -> None:
        self.config = config or BreakerConfig()
        self._redis = redis
        self._key = prefix + name
        self._clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)
        # Idle breakers disappear; a closed breaker with an old window loses nothing that matters.
        self._ttl_ms = int(max(self.config.cooldown, self.config.probe_timeout, 3600.0) * 1000)

    async def acquire(self) -> Permit:
        c = self.config
        granted, probe, generation, retry_after, state = await self._acquire(
            keys=[self._key],
            args=[repr(self._clock()), c.cooldown, c.probe_timeout, c.half_open_retry_after, self._ttl_ms],
        )
        if int(granted):
            return Permit(int(generation), probe=bool(int(probe)))
        raise CircuitOpen(BreakerState(_text(state)), float(_text(retry_after)))

    async def record(self, permit: Permit, *, failure: bool) -> None:
        c = self.config
        await self._record(
            keys=[self._key],
            args=[
                repr(self._clock()),
                permit.generation,
                "1" if permit.probe else "0",
                "1" if failure else "0",
                c.window_size,
                c.failure_threshold,
                self._ttl_ms,
            ],
        )

    async def snapshot(self) -> BreakerSnapshot:
        values = await self._redis.hmget(self._key, ["state", "window", "opened_at"])
        state = BreakerState(_text(values[0]) if values[0] else "closed")
        window = _text(values[1]) if values[1] else ""
        retry_after = None
        if state is BreakerState.OPEN:
            opened_at = float(_text(values[2]) if values[2] else "0")
            retry_after = max(0.0, self.config.cooldown - (self._clock() - opened_at))
        return BreakerSnapshot(state, window.count("1"), len(window), retry_after)

    async def reset(self) -> None:
        await self._redis.delete(self._key)


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
