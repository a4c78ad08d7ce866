"""Inputs that make the sandbox answer a given way, found by asking it (its data is deterministic)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from morket.providers.base import Outcome, ProviderAdapter, ProviderCredential, ProviderResult

FIRST_NAMES = ("Jane", "John", "Maria", "Wei", "Aisha", "Liam", "Sofia", "Noah", "Emma", "Lucas", "Priya", "Omar")
LAST_NAMES = ("Doe", "Smith", "Garcia", "Chen", "Khan", "Murphy", "Rossi", "Kim", "Novak", "Silva", "Patel", "Berg")
DOMAINS = (
    "acme.com",
    "globex.com",
    "initech.com",
    "umbrella.io",
    "hooli.com",
    "starkindustries.com",
    "wayne.com",
    "tyrell.com",
    "cyberdyne.io",
    "soylent.co",
    "wonka.com",
    "gringotts.co.uk",
)


def people(limit: int = 60) -> list[dict[str, str]]:
    rows = []
    for index in range(limit):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index * 7) % len(LAST_NAMES)]
        domain = DOMAINS[(index * 5) % len(DOMAINS)]
        rows.append({"first_name": first, "last_name": last, "domain": domain})
    return rows


async def find(
    adapter: ProviderAdapter,
    operation: str,
    candidates: Iterable[Mapping[str, Any]],
    want: Outcome,
    credential: ProviderCredential,
    http: httpx.AsyncClient,
) -> tuple[dict[str, Any], ProviderResult]:
    """The first candidate input whose call ends in `want`, with that call's result."""
    seen = []
    for candidate in candidates:
        result = await adapter.call(operation, candidate, credential, http)
        if result.outcome is want:
            return dict(candidate), result
        seen.append(result.outcome.value)
    raise AssertionError(f"no candidate gave {want.value} for {adapter.slug}.{operation}; got {seen}")
