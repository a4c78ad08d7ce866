"""Rate limiting shared by every API process: Redis when REDIS_URL is set, else PostgreSQL.

The in-process limiter is for one process only (unit tests, tools); the app never uses it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("morket.ratelimit")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> Decision: ...


class InMemoryRateLimiter:
    """A sliding log per key. Good for one process; replicas need the Redis limiter."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: int, window: float) -> Decision:
        async with self._lock:
            now = self._clock()
            log = self._hits.setdefault(key, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) >= limit:
                return Decision(False, 0, max(0.0, log[0] + window - now))
            log.append(now)
            if len(self._hits) > 100_000:
                self._evict(now, window)
            return Decision(True, limit - len(log), 0.0)

    def _evict(self, now: float, window: float) -> None:
        for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[stale]


_REDIS_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, 0, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {1, limit - count - 1, '0'}
"""


class RedisRateLimiter:
    """The same sliding log in a Redis sorted set, atomic through a Lua script."""

    def __init__(self, redis: Redis, prefix: str = "morket:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_REDIS_SCRIPT)

    async def hit(self, key: str, limit: int, window: float) -> Decision:
        now = time.time()
        allowed, remaining, retry = await self._script(
            keys=[self._prefix + key], args=[now, window, limit, f"{now}:{uuid.uuid4().hex}"]
        )
        return Decision(bool(int(allowed)), int(remaining), float(retry))


_PG_SYNC = text(
    """
    WITH counted AS (
        INSERT INTO rate_limit_counters (key, window_start, hits) VALUES (:key, :start, :hits)
        ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_counters.hits + excluded.hits
        RETURNING hits
    )
    SELECT (SELECT hits FROM counted) AS current,
           coalesce((SELECT hits FROM rate_limit_counters WHERE key = :key AND window_start = :previous), 0)
               AS previous
    """
)
_PG_SWEEP = text("DELETE FROM rate_limit_counters WHERE window_start < :before")
# Windows longer than this are not supported: their rows would be swept while still in use.
MAX_WINDOW_SECONDS = 3600


@dataclass
class _Window:
    start: int  # epoch seconds of the fixed window
    current: int = 0  # every process's hits in this window, as of our last sync
    previous: int = 0  # every process's hits in the window before
    pending: int = 0  # our hits not yet sent
    synced_at: float = -math.inf


class PostgresRateLimiter:
    """Counters in PostgreSQL that every API process shares (no Redis needed).

    Two fixed windows give the sliding estimate `previous * (1 - elapsed share) + current`, as
    Redis-less gateways commonly do. A process sends its hits in batches: every hit while the
    limit is under 200 (auth's 5/min is exact), else whenever 1% of the limit has accumulated or
    `sync_seconds` passed, so across N processes a client can exceed a large limit by at most
    about N% (plus what arrives within one sync interval). Denied hits count too: a client that
    keeps hammering stays limited. If PostgreSQL cannot be reached the request is let through; the
    API cannot serve it anyway, and the limiter must not turn an outage into 429s.
    """

    def __init__(
        self, engine: AsyncEngine, *, sync_seconds: float = 0.25, clock: Callable[[], float] = time.time
    ) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sync_seconds = sync_seconds
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._syncs = 0

    async def hit(self, key: str, limit: int, window: float) -> Decision:
        length = max(1, min(MAX_WINDOW_SECONDS, round(window)))
        now = self._clock()
        start = int(now // length) * length
        name = f"{key}|{length}"
        state = self._windows.get(name)
        if state is None or state.start != start:
            carried = state.current + state.pending if state is not None and state.start == start - length else 0
            state = self._windows[name] = _Window(start=start, previous=carried)
            if len(self._windows) > 100_000:
                self._evict(now)
        state.pending += 1
        batch = 1 if limit < 200 else limit // 100
        if state.pending >= batch or now - state.synced_at >= self._sync_seconds:
            await self._sync(name, state, length, now)
        elapsed = (now - start) / length
        estimate = state.previous * (1 - elapsed) + state.current + state.pending
        if estimate <= limit:
            return Decision(True, max(0, int(limit - estimate)), 0.0)
        return Decision(False, 0, self._retry_after(state, limit, length, now))

    async def _sync(self, name: str, state: _Window, length: int, now: float) -> None:
        sending, state.pending = state.pending, 0
        state.synced_at = now
        try:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        _PG_SYNC, {"key": name, "start": state.start, "hits": sending, "previous": state.start - length}
                    )
                ).one()
                self._syncs += 1
                if self._syncs % 1000 == 1:
                    await conn.execute(_PG_SWEEP, {"before": int(now) - 2 * MAX_WINDOW_SECONDS})
        except Exception:
            log.warning("rate limiter could not reach PostgreSQL; letting the request through", exc_info=True)
            state.pending += sending
            return
        # Concurrent syncs of one key may return out of order: counts only grow within a window.
        state.current = max(state.current, int(row.current))
        state.previous = max(state.previous, int(row.previous))

    def _retry_after(self, state: _Window, limit: int, length: int, now: float) -> float:
        until_next = state.start + length - now
        current = state.current + state.pending
        if current >= limit or state.previous == 0:
            # The next window still carries this one's hits: wait until they weigh little enough.
            share = 1 - (limit - 1) / current if current > limit - 1 else 0.0
            return until_next + share * length
        needed_elapsed = 1 - (limit - current) / state.previous
        return max(0.0, min(until_next, needed_elapsed * length - (now - state.start)))

    def _evict(self, now: float) -> None:
        for stale in [k for k, w in self._windows.items() if w.start + 2 * MAX_WINDOW_SECONDS < now]:
            del self._windows[stale]
        if len(self._windows) > 100_000:
            self._windows.clear()


def retry_after_header(decision: Decision) -> str:
    return str(max(1, math.ceil(decision.retry_after)))


class ClientIpResolver:
    """The client address: the peer, or X-Forwarded-For when the peer is a trusted proxy."""

    def __init__(self, trusted: str) -> None:
        self._networks = [
            ipaddress.ip_network(part.strip(), strict=False) for part in trusted.split(",") if part.strip()
        ]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str:
        client = peer or "unknown"
        if not forwarded_for or not self._trusted(client):
            return client
        # Walk from the right: the first hop that is not a trusted proxy is the client.
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if not self._trusted(hop):
                return hop
            client = hop
        return client
