"""Fault injection: the decision, per request, to delay, limit or fail it."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

from morket_sandbox.config import EffectiveFaults, Provider

# Pending-round counters grow with distinct inputs; past this size they are dropped wholesale
# (an input then pends again), which bounds memory under a long benchmark.
_MAX_TRACKED_INPUTS = 200_000


class TokenBucket:
    """`rate` tokens per second, bursting up to `capacity`."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token; returns 0 when granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Rejection(Enum):
    QUOTA_EXHAUSTED = "quota_exhausted"
    RATE_LIMITED = "rate_limited"
    RANDOM_429 = "random_429"
    SERVER_ERROR = "server_error"


@dataclass(frozen=True, slots=True)
class Verdict:
    rejection: Rejection
    retry_after: int = 1
    status: int = 429


class ProviderFaults:
    """The fault knobs of one provider plus the mutable state they need."""

    def __init__(self, provider: Provider, faults: EffectiveFaults) -> None:
        self.provider = provider
        self.faults = faults
        # Seeded per provider so one provider's traffic does not shift another's fault sequence.
        self.rng = random.Random(f"{faults.seed}:{provider.value}")
        self._buckets: dict[str, TokenBucket] = {}
        self._quota_used: dict[str, int] = {}
        self._pending: dict[str, int] = {}

    def delay_seconds(self) -> float:
        faults = self.faults
        if faults.latency_jitter_ms:
            return (faults.latency_ms + self.rng.uniform(0, faults.latency_jitter_ms)) / 1000
        return faults.latency_ms / 1000

    def admit(self, key: str, now: float) -> Verdict | None:
        """None lets the request through; otherwise the fault the provider should answer with."""
        faults = self.faults
        if faults.quota >= 0:
            used = self._quota_used.get(key, 0)
            if used >= faults.quota:
                return Verdict(Rejection.QUOTA_EXHAUSTED, retry_after=3600)
        if faults.rate_limit_per_second > 0:
            bucket = self._buckets.get(key)
            if bucket is None:
                rate = faults.rate_limit_per_second
                bucket = self._buckets[key] = TokenBucket(rate, max(1.0, rate), now)
            wait = bucket.take(now)
            if wait > 0:
                return Verdict(Rejection.RATE_LIMITED, retry_after=max(1, math.ceil(wait)))
        if faults.rate_429 and self.rng.random() < faults.rate_429:
            return Verdict(Rejection.RANDOM_429, retry_after=1)
        if faults.error_rate and self.rng.random() < faults.error_rate:
            return Verdict(Rejection.SERVER_ERROR, status=self.rng.choice((500, 500, 502, 503)))
        if faults.quota >= 0:
            self._quota_used[key] = self._quota_used.get(key, 0) + 1
        return None

    def still_pending(self, input_key: str) -> bool:
        """Whether this call for `input_key` is one of its `pending_rounds` "not ready yet" rounds."""
        rounds = self.faults.pending_rounds
        if rounds <= 0:
            return False
        seen = self._pending.get(input_key, 0)
        if seen >= rounds:
            return False
        if len(self._pending) >= _MAX_TRACKED_INPUTS:
            self._pending.clear()
        self._pending[input_key] = seen + 1
        return True
