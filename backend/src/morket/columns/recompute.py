"""Formula columns are recomputed here: over every row when the formula is saved, over the rows
that changed when a cell a formula reads is written (any path: the grid, bulk updates, imports,
enrichment results), over new rows when rows are appended.

Values are written without cell history (they are derived: the history of their inputs says
why they changed) and only where they changed; a cell that cannot be computed is empty with
`{"state": "error", "reason": ...}` in `_meta`. Runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from morket.columns.formula import CompiledFormula, FormulaError, parse
from morket.columns.repository import ColumnsRepository
from morket.models import ColumnKind, DataTable, TableColumn
from morket.tables.types import TEXT_LIKE, InvalidValue, parse_value, render_value

if TYPE_CHECKING:
    from morket.tables.service import RowService

BATCH = 5000


def compiled_of(column: TableColumn) -> CompiledFormula | None:
    config = column.config or {}
    expression, refs = config.get("expression"), config.get("refs")
    if column.kind is not ColumnKind.FORMULA or not isinstance(expression, str) or not isinstance(refs, dict):
        return None
    return CompiledFormula(expression, parse(expression), {n: uuid.UUID(c) for n, c in refs.items()})


def _failing(reason: str) -> Callable[[Any], Any]:
    def fail(_row: Any) -> Any:
        raise FormulaError(reason)

    return fail


def formulas_reading(columns: Sequence[TableColumn], changed: set[uuid.UUID] | None) -> list[TableColumn]:
    """Formula columns of the table that read any of `changed` (all of them when None)."""
    out = []
    for column in columns:
        if column.kind is not ColumnKind.FORMULA:
            continue
        refs = {uuid.UUID(c) for c in (column.config or {}).get("refs", {}).values()}
        if changed is None or refs & changed:
            out.append(column)
    return out


async def recompute(
    rows: RowService,
    table: DataTable,
    columns: Sequence[TableColumn],
    formulas: Sequence[TableColumn],
    row_ids: Sequence[int] | None = None,
) -> int:
    """Recompute `formulas` on `row_ids` (every row when None); returns the cells that changed."""
    compiled = [(column, c) for column in formulas if (c := compiled_of(column)) is not None]
    if not compiled:
        return 0
    by_id = {c.id: c for c in columns}
    read_ids = {ref for _, c in compiled for ref in c.refs.values()} | {column.id for column, _ in compiled}
    read = [by_id[i] for i in read_ids if i in by_id]
    position = {c.id: i + 1 for i, c in enumerate(read)}
    flag_of = {column.id: 1 + len(read) + j for j, (column, _) in enumerate(compiled)}
    plans = []
    for column, formula in compiled:
        gone = [name for name, ref in formula.refs.items() if ref not in position]
        if gone:  # a referenced column was deleted: every cell says so until the formula is fixed
            reason = f"the column {{{gone[0]}}} no longer exists"
            plans.append((column, formula, _failing(reason)))
        else:
            plans.append((column, formula, formula.over_tuples(position)))
    repo = ColumnsRepository(rows.session)
    changed = 0
    batches = repo.iter_rows(table.id, columns, row_ids, read, [column.id for column, _ in compiled], BATCH)
    async for batch in batches:
        for column, formula, evaluator in plans:
            own, flag = position[column.id], flag_of[column.id]
            ids: list[int] = []
            values: list[Any] = []
            meta_ids: list[int] = []
            metas: list[dict[str, Any] | None] = []
            as_is = column.type in TEXT_LIKE
            for row in batch:
                value, error = formula.run(row, evaluator)
                if error is None:
                    try:
                        value = parse_value(column.type, value)
                    except InvalidValue as exc:
                        value, error = None, f"the result does not fit a {column.type.value} column: {exc}"
                if (value if as_is else render_value(column.type, value)) != row[own]:
                    ids.append(row[0])
                    values.append(value)
                if error is not None:
                    meta_ids.append(row[0])
                    metas.append({"state": "error", "reason": error})
                elif row[flag]:
                    meta_ids.append(row[0])
                    metas.append(None)
            await rows.write_derived(table, column, ids, values, meta_ids, metas)
            changed += len(ids)
    return changed
