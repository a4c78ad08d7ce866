"""One shape for a result: what the sink writes into a cell's provenance reads back the same."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from morket.enrichment.result import CellState, FieldOutcome, FieldStatus, cell_state
from morket.enrichment.schemas import FieldResult

JOB = uuid.uuid4()
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
found = st.builds(
    FieldOutcome,
    st.just(FieldStatus.FOUND),
    values.filter(lambda v: v not in (None, "", [], {})),
    st.sampled_from(["apollo", "hunter", "clearbit", "openai"]),
    st.integers(0, 100),
    st.booleans(),
)
not_found = st.just(FieldOutcome(FieldStatus.NOT_FOUND))
failed = st.just(FieldOutcome(FieldStatus.FAILED))


@given(found | not_found | failed, st.none() | st.text(max_size=30))
def test_a_cell_reads_back_what_the_waterfall_decided(outcome: FieldOutcome, reason: str | None) -> None:
    # Through JSON, as the `_meta` column stores it; the value is the cell's.
    state = json.loads(json.dumps(outcome.cell_state(JOB, reason)))
    assert state["job_id"] == str(JOB)
    back = FieldOutcome.from_cell(state, outcome.value if outcome.found else None)
    assert back == outcome
    if outcome.status is FieldStatus.FAILED:
        assert state["state"] == "error" and state["reason"] == (
            reason or "no provider could answer (errors or rate limits)"
        )
    # The API's schema is validated from the same value, field for field.
    api = FieldResult.model_validate(outcome).model_dump(mode="json")
    assert api == {
        "status": outcome.status.value,
        "value": outcome.value,
        "provider": outcome.provider,
        "cost": outcome.cost,
        "cached": outcome.cached,
    }


def test_states_that_are_not_results() -> None:
    for name in (CellState.QUEUED, CellState.RUNNING, CellState.CANCELLED, CellState.SKIPPED):
        assert FieldOutcome.from_cell(cell_state(name, JOB), None) is None
    # Fill-empty kept the cell's earlier value: found and paid, the value is the cell's.
    kept = {**FieldOutcome(FieldStatus.FOUND, "a@b.co", "apollo", 2).cell_state(JOB, None), "state": "kept"}
    assert FieldOutcome.from_cell(kept, "old@b.co") == FieldOutcome(FieldStatus.FOUND, "old@b.co", "apollo", 2)
    # A plain string status is read as the enum.
    assert FieldOutcome("not_found").status is FieldStatus.NOT_FOUND  # type: ignore[arg-type]
