"""Sliding-window rate limiting: in-process by default, Redis when REDIS_URL is set."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


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
