"""What a run of one computing column is, whatever its kind: the engine's fields and waterfall,
the rows it selects, how a row becomes a record, and where the results go.

`ColumnRunService` (service.py) builds one per column of a run request (enrichment columns
there, AI columns in `ai.py`) and turns each into an enrichment job, so every kind that runs on
providers gets the engine's guarantees the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from morket.columns.kinds import WritePolicy
from morket.models import TableColumn
from morket.tables.query import Conjunction, FilterCondition, FilterGroup

# A row's values ({column id: value as the API renders it}) -> the record's input, or None when
# the row lacks what the run needs.
RecordOf = Callable[[Mapping[uuid.UUID, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class ColumnPlan:
    column: TableColumn
    fields: list[str]
    waterfall: dict[str, list[str]]
    selection: FilterGroup  # the rows the run is about (scope, only-if, policy)
    runnable: FilterGroup  # ... that also have the inputs the run needs
    reads: frozenset[uuid.UUID]  # the columns a record is built from
    record_of: RecordOf
    target: dict[str, Any]  # the job's target (sink.target_for)


def all_of(*parts: FilterCondition | FilterGroup | None) -> FilterGroup:
    return FilterGroup(conjunction=Conjunction.AND, conditions=[p for p in parts if p is not None])


def target_for(column_id: uuid.UUID, outputs: Mapping[str, uuid.UUID], write_policy: WritePolicy) -> dict[str, Any]:
    """The `target` stored on a run's job: field -> column it fills, and how (columns/sink.py)."""
    return {
        "column_id": str(column_id),
        "columns": {name: str(col) for name, col in outputs.items()},
        "write_policy": write_policy.value,
    }
