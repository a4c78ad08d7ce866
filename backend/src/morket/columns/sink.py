"""Where a column run's results land: the table's cells, their state and provenance in `_meta`.

Called by the enrichment engine in the transaction that writes a batch of records with their
debits (`JobRunService.save_batch`, enrichment/runs.py), so a cell, its provenance and the debit that paid for
it commit together or not at all; a chunk re-run after a crash skips records already written,
hence cells already written. Writes go through `RowService` (cell history, outbox events: the
table's SSE stream shows the cells fill in).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import ai
from morket.columns.kinds import WritePolicy
from morket.columns.plan import target_for
from morket.columns.repository import ColumnsRepository
from morket.core.errors import NotFound
from morket.enrichment.repository import RecordResult
from morket.enrichment.result import CellState, FieldOutcome, cell_state
from morket.models import CellSource
from morket.tables.service import RowService, TableService

__all__ = ["mark_running", "set_states", "settle_cells", "target_for", "write_results"]


state = cell_state  # the `_meta` JSON of a computed cell (enrichment/result.py)


async def _table_exists(session: AsyncSession, workspace_id: uuid.UUID, table_id: uuid.UUID) -> bool:
    try:
        await TableService(session).get(workspace_id, table_id)
    except NotFound:  # deleted since the run started: the results stay on the job's records
        return False
    return True


async def set_states(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    target: Mapping[str, Any],
    row_ids: Iterable[int],
    make: Any,
) -> None:
    """The same kind of state on every output column of these rows (`make()` builds each)."""
    rows = list(row_ids)
    if not rows or not await _table_exists(session, workspace_id, table_id):
        return
    service = RowService(session)
    for column in dict.fromkeys(target["columns"].values()):
        await service.set_cell_states(workspace_id, table_id, uuid.UUID(column), [(r, make()) for r in rows])


async def mark_running(
    session: AsyncSession,
    job_id: uuid.UUID,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    target: Mapping[str, Any],
    row_ids: Sequence[int],
) -> None:
    await set_states(session, workspace_id, table_id, target, row_ids, lambda: state("running", job_id))


async def write_results(
    session: AsyncSession,
    job_id: uuid.UUID,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    target: Mapping[str, Any],
    results: Sequence[RecordResult],
) -> None:
    """Cells and states of finished records (found -> value + done, not found -> no_data, failed -> error)."""
    if not results or not await _table_exists(session, workspace_id, table_id):
        return
    repo = ColumnsRepository(session)
    row_of = await repo.row_ids_of([r.record_id for r in results])
    columns = {name: uuid.UUID(col) for name, col in target["columns"].items()}
    values: dict[int, dict[uuid.UUID, Any]] = {}
    states: dict[tuple[int, uuid.UUID], dict[str, Any]] = {}
    for result in results:
        row = row_of.get(result.record_id)
        if row is None:
            continue
        for name, column in columns.items():
            field: FieldOutcome | None = result.fields.get(name)
            if "ai" in target:  # issue 10, AI columns: the answer and its JSON fields (columns/ai.py)
                field = ai.field_of(result.fields, name, target["ai"])
            if field is None:
                states[(row, column)] = state(CellState.ERROR, job_id, reason=result.error or "the field was not run")
                continue
            if field.found:
                values.setdefault(row, {})[column] = field.value
            states[(row, column)] = field.cell_state(job_id, result.error)
    only_empty = frozenset(columns.values()) if target["write_policy"] == WritePolicy.FILL_EMPTY else frozenset()
    rows = RowService(session)
    written = await rows.write_computed(
        workspace_id, table_id, values, only_empty=only_empty, source=CellSource.ENRICHMENT
    )
    for key in written.kept:
        reason = "the cell already had a value (fill empty only)"
        states[key] = {**states[key], "state": CellState.KEPT.value, "reason": reason}
    for key, message in written.invalid.items():
        reason = f"the value does not fit the column: {message}"
        states[key] = {**states[key], "state": CellState.ERROR.value, "reason": reason}
    by_column: dict[uuid.UUID, list[tuple[int, dict[str, Any] | None]]] = {}
    for (row, column), value in states.items():
        if row not in written.missing_rows:
            by_column.setdefault(column, []).append((row, value))
    for column, items in by_column.items():
        await rows.set_cell_states(workspace_id, table_id, column, items)


async def settle_cells(
    session: AsyncSession,
    job_id: uuid.UUID,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    target: Mapping[str, Any],
    *,
    budget_reached: bool = False,
) -> None:
    """After the run settled: rows it never reached show `cancelled` (`skipped` when the budget
    stopped the run), or `error` with the reason."""
    unfinished = await ColumnsRepository(session).unfinished_rows(job_id)
    if not unfinished or not await _table_exists(session, workspace_id, table_id):
        return
    service = RowService(session)
    for column in dict.fromkeys(target["columns"].values()):
        await service.set_cell_states(
            workspace_id,
            table_id,
            uuid.UUID(column),
            [
                (row, _unfinished(job_id, status, error, budget_reached=budget_reached))
                for row, status, error in unfinished
            ],
        )


def _unfinished(job_id: uuid.UUID, status: str, error: str | None, *, budget_reached: bool) -> dict[str, Any]:
    if status != "cancelled":
        return state(CellState.ERROR, job_id, reason=error)
    if budget_reached:
        return state(CellState.SKIPPED, job_id, reason="the run's budget was reached")
    return state(CellState.CANCELLED, job_id)
