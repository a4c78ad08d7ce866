"""What the enrichment engine needs to know about providers: who supplies which field, from
which inputs, at what cost. A view over `morket.providers.registry`, so job validation, cost
estimation and the waterfall all read the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from morket.providers import registry
from morket.providers.base import ProviderAdapter, present_keys
from morket.providers.fields import CANONICAL_FIELDS

MAX_DETAILS = 20


@dataclass(frozen=True)
class Problem:
    location: str
    message: str
    extra: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.location, "message": self.message}
        if self.extra:
            body.update(self.extra)
        return body


class ProviderCatalog:
    def adapter(self, slug: str) -> ProviderAdapter | None:
        try:
            return registry.get_provider(slug)
        except (KeyError, LookupError):
            return None

    def default_waterfall(self, field: str) -> list[str]:
        return [p.slug for p in registry.providers_for_field(field)]

    def field_cost(self, slug: str, field: str) -> int:
        """The most a call of `slug` for `field` can cost (the estimate must cover the worst case)."""
        adapter = registry.get_provider(slug)
        return max(op.cost for op in adapter.operations_for(field))

    def worst_case(self, record_count: int, fields: Sequence[str], waterfall: Mapping[str, Sequence[str]]) -> int:
        """Every record charged the dearest provider of every field: what a job reserves."""
        return record_count * sum(max(self.field_cost(slug, name) for slug in waterfall[name]) for name in fields)

    def validate_plan(self, fields: Sequence[str], waterfall: Mapping[str, Sequence[str]]) -> list[Problem]:
        problems: list[Problem] = []
        if len(set(fields)) != len(fields):
            problems.append(Problem("fields", "fields must not repeat"))
        for name in fields:
            if name not in CANONICAL_FIELDS:
                problems.append(
                    Problem("fields", f"unknown field '{name}'", {"known_fields": sorted(CANONICAL_FIELDS)})
                )
                continue
            chain = waterfall.get(name, [])
            if not chain:
                problems.append(Problem(f"waterfall.{name}", f"no provider can supply '{name}'"))
            if len(set(chain)) != len(chain):
                problems.append(Problem(f"waterfall.{name}", "a provider appears twice in the waterfall"))
            for slug in chain:
                adapter = self.adapter(slug)
                if adapter is None:
                    problems.append(Problem(f"waterfall.{name}", f"unknown provider '{slug}'"))
                elif not adapter.operations_for(name):
                    problems.append(
                        Problem(
                            f"waterfall.{name}",
                            f"provider '{slug}' cannot supply '{name}'",
                            {"supplies": sorted(adapter.supplies)},
                        )
                    )
        for name in waterfall:
            if name not in fields:
                problems.append(Problem(f"waterfall.{name}", f"'{name}' is not one of the requested fields"))
        return problems

    def validate_records(
        self, records: Sequence[Mapping[str, Any]], fields: Sequence[str], waterfall: Mapping[str, Sequence[str]]
    ) -> list[Problem]:
        """Each record must give, for every field, the inputs of at least one provider of its waterfall."""
        requirements = {
            name: [(slug, registry.get_provider(slug).requirement_for(name)) for slug in waterfall[name]]
            for name in fields
        }
        problems: list[Problem] = []
        for index, record in enumerate(records):
            present = present_keys(record)
            for name in fields:
                options = requirements[name]
                if any(req is not None and any(alt <= present for alt in req.alternatives) for _, req in options):
                    continue
                problems.append(
                    Problem(
                        f"records.{index}",
                        f"record {index} lacks the inputs any provider needs to find '{name}'",
                        {"required_inputs": {slug: req.as_lists() for slug, req in options if req is not None}},
                    )
                )
                if len(problems) >= MAX_DETAILS:
                    return problems
        return problems
