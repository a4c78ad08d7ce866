"""Outbound rate limiting per provider and API key: callers wait for a slot instead of failing.

Each call reserves the earliest time at which it may go, then sleeps until then. Two rules make
a time free, for every window of N calls per P seconds:
  * pacing: it is at least (P + margin) / N after the key's previous reservation, so calls are
    spread evenly instead of going out in bursts of N;
  * the window: the N-th most recent reservation is at least P + margin before it.
Pacing alone keeps every window under N. The window rule still matters when the limit drops
(a provider's header reveals a smaller plan): calls already made under the old limit count.
Reservations never go backwards in time, so the log stays sorted and the check is exact: no
interval of length P + margin holds more than N calls, however many jobs share the key.

Why even pacing rather than bursts: providers count on their clock, not ours. After a burst,
the stragglers of the last one (a slow event loop, a busy server) make the next burst look
early to them, and a token bucket refilled at N/P answers 429. Spaced calls keep such a bucket
nearly full, so tens of milliseconds of jitter cost nothing. The margin (2% of the window, at
least 50 ms) covers the remaining clock differences.

The limiter also learns: a 429's Retry-After (or an exhausted window with a reset time) blocks
the key until then, and a limit the provider states in its headers (Apollo's
x-rate-limit-minute) replaces the configured one for an hour.

`InMemoryProviderLimiter` paces one process; `RedisProviderLimiter` paces every process on one
Redis with the same algorithm in a Lua script.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from morket.providers.base import RateLimitFeedback, RateLimitWindow

LEARNED_LIMIT_TTL = 3600.0
# Going a millisecond early is lost in the window margin; sleeping that long costs a loop turn.
_NOT_WORTH_SLEEPING = 0.001


def window_margin(period: float) -> float:
    """Slack added to each window: 2% of it, at least 50 ms, at most 2 s."""
    return min(max(0.02 * period, 0.05), 2.0)


class WaitTooLong(Exception):
    """The next free slot is further away than the caller is willing to wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"next slot in {retry_after:.1f}s")
        self.retry_after = retry_after


class ProviderLimiter(Protocol):
    async def acquire(self, key: str, windows: Sequence[RateLimitWindow], *, max_wait: float) -> float:
        """Wait for a slot; returns the seconds waited. Raises WaitTooLong (without waiting)."""
        ...

    async def learn(self, key: str, windows: Sequence[RateLimitWindow], feedback: RateLimitFeedback) -> None: ...


@dataclass
class _KeyState:
    logs: dict[float, deque[float]]
    last: float = float("-inf")
    blocked_until: float = float("-inf")
    learned: dict[float, tuple[int, float]] | None = None  # period -> (limit, expires at)


class SlidingLog:
    """The reservation algorithm (pacing plus sliding log) without clock or sleeping."""

    def __init__(self) -> None:
        self._keys: dict[str, _KeyState] = {}

    def _state(self, key: str) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(logs={})
        return state

    def effective_limit(self, key: str, window: RateLimitWindow, now: float) -> int:
        state = self._keys.get(key)
        if state is not None and state.learned:
            learned = state.learned.get(window.period)
            if learned is not None and learned[1] > now:
                return learned[0]
        return window.limit

    def spacing(self, key: str, windows: Sequence[RateLimitWindow], now: float) -> float:
        """The least time between two calls of the key: the tightest window's (P + margin) / N."""
        return max(
            ((w.period + window_margin(w.period)) / max(1, self.effective_limit(key, w, now)) for w in windows),
            default=0.0,
        )

    def next_slot(self, key: str, windows: Sequence[RateLimitWindow], now: float) -> float:
        """The earliest time (>= now) at which one more call may go; reserves nothing."""
        state = self._keys.get(key)
        if state is None:
            return now
        slot = max(now, state.last + self.spacing(key, windows, now), state.blocked_until)
        for window in windows:
            limit = max(1, self.effective_limit(key, window, now))
            log = state.logs.get(window.period)
            if log is not None and len(log) >= limit:
                slot = max(slot, log[-limit] + window.period + window_margin(window.period))
        return slot

    def reserve(self, key: str, windows: Sequence[RateLimitWindow], now: float, max_wait: float) -> float | None:
        """The time reserved for one call (>= now), or None when that is more than max_wait away."""
        slot = self.next_slot(key, windows, now)
        if slot - now > max_wait:
            return None
        state = self._state(key)
        for window in windows:
            limit = max(1, self.effective_limit(key, window, now))
            log = state.logs.setdefault(window.period, deque())
            log.append(slot)
            horizon = slot - window.period - window_margin(window.period)
            while log and (log[0] <= horizon or len(log) > max(limit, window.limit)):
                log.popleft()
        state.last = slot
        if len(self._keys) > 50_000:
            self._evict(now)
        return slot

    def learn(self, key: str, windows: Sequence[RateLimitWindow], feedback: RateLimitFeedback, now: float) -> None:
        state = self._state(key)
        block = feedback.retry_after
        if feedback.remaining == 0 and feedback.reset_after is not None:
            block = max(block or 0.0, feedback.reset_after)
        if block is not None and block > 0:
            state.blocked_until = max(state.blocked_until, now + block)
        if (
            feedback.limit is not None
            and feedback.limit > 0
            and feedback.period is not None
            and any(w.period == feedback.period for w in windows)
        ):
            if state.learned is None:
                state.learned = {}
            state.learned[feedback.period] = (feedback.limit, now + LEARNED_LIMIT_TTL)

    def _evict(self, now: float) -> None:
        for key in [k for k, s in self._keys.items() if s.last < now - 86400 and s.blocked_until < now]:
            del self._keys[key]


class InMemoryProviderLimiter:
    """One process's limiter. `reserve` never awaits, so the event loop serializes reservations."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._log = SlidingLog()

    async def acquire(self, key: str, windows: Sequence[RateLimitWindow], *, max_wait: float) -> float:
        now = self._clock()
        slot = self._log.reserve(key, windows, now, max_wait)
        if slot is None:
            raise WaitTooLong(self._log.next_slot(key, windows, now) - now)
        if slot - now > _NOT_WORTH_SLEEPING:
            await self._sleep(slot - now)
        return slot - now

    async def learn(self, key: str, windows: Sequence[RateLimitWindow], feedback: RateLimitFeedback) -> None:
        self._log.learn(key, windows, feedback, self._clock())


_RESERVE = """
local base = KEYS[1]
local now = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local member = ARGV[3]
local n = tonumber(ARGV[4])
local slot = now
local last = tonumber(redis.call('GET', base .. ':last') or '')
local blocked = tonumber(redis.call('GET', base .. ':blocked') or '')
if blocked and blocked > slot then slot = blocked end
local limits = {}
for i = 0, n - 1 do
  local documented = tonumber(ARGV[5 + 3 * i])
  local period = ARGV[6 + 3 * i]
  local margin = tonumber(ARGV[7 + 3 * i])
  local limit = tonumber(redis.call('GET', base .. ':limit:' .. period) or '') or documented
  if limit < 1 then limit = 1 end
  limits[i] = limit
  local spacing = (tonumber(period) + margin) / limit
  if last and last + spacing > slot then slot = last + spacing end
  local entry = redis.call('ZREVRANGE', base .. ':w:' .. period, limit - 1, limit - 1, 'WITHSCORES')
  if entry[2] then
    local free = tonumber(entry[2]) + tonumber(period) + margin
    if free > slot then slot = free end
  end
end
if slot - now > max_wait then
  return {0, string.format('%.6f', slot - now)}
end
local keep_ms = 0
for i = 0, n - 1 do
  local documented = tonumber(ARGV[5 + 3 * i])
  local period = ARGV[6 + 3 * i]
  local margin = tonumber(ARGV[7 + 3 * i])
  local key = base .. ':w:' .. period
  redis.call('ZADD', key, slot, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', slot - tonumber(period) - margin)
  local cap = math.max(limits[i], documented)
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
  local ms = math.ceil((slot - now + tonumber(period) + margin) * 1000) + 1000
  redis.call('PEXPIRE', key, ms)
  if ms > keep_ms then keep_ms = ms end
end
redis.call('SET', base .. ':last', string.format('%.17g', slot), 'PX', math.max(keep_ms, 1000))
return {1, string.format('%.6f', slot - now)}
"""

_BLOCK = """
local key = KEYS[1]
local until_ = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', key) or '')
if current == nil or until_ > current then
  redis.call('SET', key, ARGV[1], 'PX', tonumber(ARGV[2]))
end
return 1
"""


class RedisProviderLimiter:
    """The sliding log in Redis sorted sets: one limit for every worker that shares an API key."""

    def __init__(
        self,
        redis: Redis,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        prefix: str = "morket:plimit:",
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._sleep = sleep
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._block = redis.register_script(_BLOCK)
        # Most responses restate the same limit; write it to Redis only when it changes or ages.
        self._learned: dict[tuple[str, float], tuple[int, float]] = {}

    async def acquire(self, key: str, windows: Sequence[RateLimitWindow], *, max_wait: float) -> float:
        args: list[str | int | float] = [repr(self._clock()), max_wait, uuid.uuid4().hex, len(windows)]
        for window in windows:
            args += [window.limit, _period(window.period), window_margin(window.period)]
        granted, wait_text = await self._reserve(keys=[self._prefix + key], args=args)
        wait = float(wait_text.decode() if isinstance(wait_text, bytes) else wait_text)
        if not int(granted):
            raise WaitTooLong(wait)
        if wait > _NOT_WORTH_SLEEPING:
            await self._sleep(wait)
        return wait

    async def learn(self, key: str, windows: Sequence[RateLimitWindow], feedback: RateLimitFeedback) -> None:
        base = self._prefix + key
        now = self._clock()
        block = feedback.retry_after
        if feedback.remaining == 0 and feedback.reset_after is not None:
            block = max(block or 0.0, feedback.reset_after)
        if block is not None and block > 0:
            await self._block(keys=[base + ":blocked"], args=[repr(now + block), int(block * 1000) + 1000])
        if feedback.limit is not None and feedback.limit > 0 and feedback.period is not None:
            memo = self._learned.get((key, feedback.period))
            fresh = memo is not None and memo[0] == feedback.limit and now - memo[1] < LEARNED_LIMIT_TTL / 4
            if not fresh and any(w.period == feedback.period for w in windows):
                await self._redis.set(
                    f"{base}:limit:{_period(feedback.period)}", feedback.limit, px=int(LEARNED_LIMIT_TTL * 1000)
                )
                if len(self._learned) > 10_000:
                    self._learned.clear()
                self._learned[(key, feedback.period)] = (feedback.limit, now)


def _period(period: float) -> str:
    """The period as it appears in key names: '60', '1', '0.5'."""
    return f"{period:g}"
