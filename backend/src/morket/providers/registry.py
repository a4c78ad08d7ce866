"""Every provider Morket can call. Adding one: a module with a ProviderAdapter subclass, plus a line here.

The entries are adapters pointed at the real hosts; the gateway builds its own instances with
the base URLs from settings. Use the functions below from other modules (the enrichment engine
validates records with `required_inputs` before it starts a job).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from morket.providers.apollo import ApolloAdapter
from morket.providers.base import ProviderAdapter, Requirement
from morket.providers.clearbit import ClearbitAdapter
from morket.providers.hunter import HunterAdapter
from morket.providers.llm import OpenAIAdapter
from morket.providers.scraper import ScraperAdapter

REGISTRY: Mapping[str, ProviderAdapter] = MappingProxyType(
    {
        adapter.slug: adapter
        for adapter in (ApolloAdapter(), ClearbitAdapter(), HunterAdapter(), OpenAIAdapter(), ScraperAdapter())
    }
)


class UnknownProvider(KeyError):
    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug

    def __str__(self) -> str:
        return f"unknown provider '{self.slug}'"


def get_provider(slug: str) -> ProviderAdapter:
    try:
        return REGISTRY[slug]
    except KeyError:
        raise UnknownProvider(slug) from None


def providers_for_field(field_name: str) -> list[ProviderAdapter]:
    """Providers that can supply a canonical field, in registry order (cheapest first within ties)."""
    return sorted(
        (p for p in REGISTRY.values() if field_name in p.supplies),
        key=lambda p: min(op.cost for op in p.operations_for(field_name)),
    )


def required_inputs(slug: str, field_name: str) -> Requirement:
    """Which input keys `slug` needs to supply `field_name`: alternatives, any one set suffices.

    `required_inputs("hunter", "email").alternatives` is e.g.
    ({"domain", "first_name", "last_name"}, {"domain", "full_name"}, {"company_name", ...}, ...).
    Raises UnknownProvider, or KeyError when the provider does not supply the field.
    """
    requirement = get_provider(slug).requirement_for(field_name)
    if requirement is None:
        raise KeyError(f"{slug} does not supply '{field_name}'")
    return requirement


def can_supply(slug: str, field_name: str, inputs: Mapping[str, Any]) -> bool:
    """Whether `inputs` (a record's values by canonical input key) are enough for `slug` to look up `field_name`."""
    requirement = get_provider(slug).requirement_for(field_name)
    return requirement is not None and requirement.satisfied_by(inputs)


def all_fields() -> frozenset[str]:
    return frozenset().union(*(p.supplies for p in REGISTRY.values()))
