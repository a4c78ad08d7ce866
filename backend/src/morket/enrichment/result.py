"""One shape for an enrichment result, from the waterfall to the table and the API (issue 10, item 9).

`FieldOutcome` is what the waterfall decides for one field of one record (status, value, who
found it, what it cost, whether the answer came from the cache). The same value travels to the
batch writer (`enrichment/runs.py`), to the cells (`columns/sink.py`) and back out of the API:

- storage: the cell holds the value, its `_meta` state holds the provenance; `cell_state` writes
  that JSON and `FieldOutcome.from_cell` reads it back (the one conversion at the DB boundary);
- API: `schemas.FieldResult` is validated from the dataclass's attributes (the one conversion at
  the API boundary).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class FieldStatus(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    SKIPPED = "skipped"


class CellState(enum.StrEnum):
    """A computed cell's state in `_meta` (docs/columns.md)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    NO_DATA = "no_data"
    ERROR = "error"
    KEPT = "kept"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


def cell_state(name: CellState | str, job_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    """The `_meta` JSON of a cell: its state, the job that set it, when, and what else is known."""
    return {
        "state": str(name),
        "job_id": str(job_id),
        "at": datetime.now(UTC).isoformat(),
        **{k: v for k, v in extra.items() if v is not None},
    }


@dataclass(frozen=True)
class FieldOutcome:
    status: FieldStatus
    value: Any = None
    provider: str | None = None
    cost: int = 0
    cached: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", FieldStatus(self.status))  # a plain string is read as the enum

    @property
    def found(self) -> bool:
        return self.status is FieldStatus.FOUND

    def cell_state(self, job_id: uuid.UUID, reason: str | None) -> dict[str, Any]:
        """The provenance written beside the cell (found -> done, not found -> no_data, else error)."""
        if self.status is FieldStatus.FOUND:
            return cell_state(CellState.DONE, job_id, provider=self.provider, cost=self.cost, cached=self.cached)
        if self.status is FieldStatus.NOT_FOUND:
            return cell_state(CellState.NO_DATA, job_id, provider=self.provider)
        return cell_state(CellState.ERROR, job_id, reason=reason or "no provider could answer (errors or rate limits)")

    @classmethod
    def from_cell(cls, state: Mapping[str, Any], value: Any) -> FieldOutcome | None:
        """Read back what `cell_state` wrote (None for a cell the run has not finished).

        `kept` (fill-empty, the cell had a value) was found and paid: it answers the cell's value."""
        name = state.get("state")
        if name in (CellState.DONE, CellState.KEPT):
            return cls(
                FieldStatus.FOUND,
                value,
                state.get("provider"),
                int(state.get("cost") or 0),
                bool(state.get("cached", False)),
            )
        if name == CellState.NO_DATA:
            return cls(FieldStatus.NOT_FOUND, provider=state.get("provider"))
        if name == CellState.ERROR:
            return cls(FieldStatus.FAILED, provider=state.get("provider"), cost=int(state.get("cost") or 0))
        return None


@dataclass
class Attempt:
    """One provider call the waterfall made for one field (`RecordOutcome.attempts`), stored as it
    is: the batch writer keeps it beside its record's id, `RecordAttempt`, and COPYs those pairs
    into `enrichment_attempts`; analytics reads the same pairs."""

    field: str
    provider: str
    outcome: str
    cost: int
    cached: bool
    raw: Any
    error: str | None
    duration_ms: int


# An attempt and the record it was made for: the row of `enrichment_attempts` (the waterfall
# runs on a record's input and never sees its id).
RecordAttempt = tuple[uuid.UUID, Attempt]
