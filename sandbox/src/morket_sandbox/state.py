"""Everything the sandbox remembers between requests; POST /_admin/reset forgets it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from morket_sandbox.config import FaultConfig, Provider, SandboxConfig
from morket_sandbox.faults import ProviderFaults
from morket_sandbox.oauth import OAuthStore


@dataclass(frozen=True, slots=True)
class Usage:
    """Requests by one key in the current fixed minute, hour and day windows."""

    minute: int
    hour: int
    day: int
    minute_reset: float
    day_reset: float


class UsageWindows:
    """Fixed-window counters per key, behind the providers' informational rate-limit headers."""

    def __init__(self) -> None:
        # key -> [minute start, count, hour start, count, day start, count]
        self._windows: dict[str, list[float]] = {}

    def hit(self, key: str, now: float) -> Usage:
        slots = self._windows.get(key)
        if slots is None:
            slots = self._windows[key] = [0.0, 0, 0.0, 0, 0.0, 0]
        for index, seconds in ((0, 60), (2, 3600), (4, 86400)):
            start = now - now % seconds
            if slots[index] != start:
                slots[index], slots[index + 1] = start, 0
            slots[index + 1] += 1
        return Usage(
            minute=int(slots[1]),
            hour=int(slots[3]),
            day=int(slots[5]),
            minute_reset=slots[0] + 60 - now,
            day_reset=slots[4] + 86400 - now,
        )


class RequestStats:
    """Response counts per provider and status code, for tests and benchmarks."""

    def __init__(self) -> None:
        self._counts: dict[Provider, dict[int, int]] = {provider: {} for provider in Provider}

    def record(self, provider: Provider, status: int) -> None:
        counts = self._counts[provider]
        counts[status] = counts.get(status, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        providers = {
            provider.value: {
                "total": sum(counts.values()),
                "by_status": {str(status): n for status, n in sorted(counts.items())},
            }
            for provider, counts in self._counts.items()
        }
        return {"total": sum(p["total"] for p in providers.values()), "providers": providers}


@dataclass(slots=True)
class CrmRecord:
    id: str
    created_at: str
    updated_at: str
    properties: dict[str, Any] = field(default_factory=dict)


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.keys = {provider: config.keys_for(provider) for provider in Provider}
        self.fault_config = config.faults
        self.faults: dict[Provider, ProviderFaults] = {}
        self.stats = RequestStats()
        self.usage: dict[Provider, UsageWindows] = {}
        # (provider, object type, id property, id value) -> record, for the CRM upserts
        self.crm: dict[tuple[str, str, str, str], CrmRecord] = {}
        self.oauth = OAuthStore()
        # provider -> how many of the next CRM upserts are applied but answered 502 (a response
        # lost on the way back: the client must retry without creating anything twice)
        self.crm_lost_responses: dict[str, int] = {}
        self._sequence = itertools.count(1)
        self.reset()

    def set_faults(self, fault_config: FaultConfig) -> None:
        """Replace the fault knobs; counters the knobs drive (buckets, quotas, pending rounds) restart."""
        self.fault_config = fault_config
        self.faults = {provider: ProviderFaults(provider, fault_config.for_provider(provider)) for provider in Provider}

    def reset(self) -> None:
        self.set_faults(self.config.faults)
        self.stats = RequestStats()
        self.usage = {provider: UsageWindows() for provider in Provider}
        self.crm.clear()
        self.oauth.reset()
        self.crm_lost_responses.clear()

    def lose_crm_response(self, provider: Provider) -> bool:
        """Whether this CRM upsert's answer is to be lost (consumes one)."""
        left = self.crm_lost_responses.get(provider.value, 0)
        if left <= 0:
            return False
        self.crm_lost_responses[provider.value] = left - 1
        return True

    def next_sequence(self) -> int:
        return next(self._sequence)
