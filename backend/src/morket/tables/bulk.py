"""Bulk rows for the importer and the exporter: already-parsed columns in by COPY, CSV out by COPY.

`RowService.append_rows` takes rows as `{column id: value}` and parses every cell, which is what
an API call needs; an import of a million rows has already parsed its cells column by column
(`morket.imports.convert`, same rules) and needs none of the per-row work. This service writes
such a batch with the same effects as `append_rows` without a key column: the table's metadata
row locked, ids reserved from the table's sequence, rows COPYed, the row count and the
`rows.created` outbox events in the same transaction.

Export: the view (filter, sort) is compiled as for the grid, and PostgreSQL writes the CSV
(`COPY (SELECT ...) TO STDOUT`), the CSV-injection escaping done in SQL (`bulk_storage`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.errors import NotFound
from morket.models import CellSource, OutboxEventType, TableColumn
from morket.tables import bulk_storage
from morket.tables.query import RowView, compile_view
from morket.tables.service import TableService
from morket.tables.storage import sa_table


class BulkRowService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tables = TableService(session)

    async def append_columns(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        column_ids: Sequence[uuid.UUID],
        values: Sequence[Sequence[Any]],
        *,
        actor_id: uuid.UUID | None,
        source: CellSource = CellSource.IMPORT,
    ) -> list[int]:
        """Insert rows given column by column: `values[i][r]` is row r's stored value of column
        `column_ids[i]` (already parsed by the column's type; None for empty). Returns the new ids.
        Columns not given stay empty. Raises NotFound for a table or column that is not there."""
        table = await self.tables.get(workspace_id, table_id, lock=True)
        by_id = {c.id: c for c in await self.tables.repo.columns(table.id)}
        columns: list[TableColumn] = []
        for column_id in column_ids:
            column = by_id.get(column_id)
            if column is None:
                raise NotFound("Column not found.")
            columns.append(column)
        count = len(values[0]) if values else 0
        if count == 0:
            return []
        ids = await self.tables.storage.reserve_ids(table.id, count)
        await bulk_storage.copy_columns(self.session, table.id, columns, ids, values, actor_id)
        await self.tables.repo.add_row_count(table.id, count)
        await self.tables.outbox.emit_row_batches(
            table.workspace_id,
            table.id,
            OutboxEventType.ROWS_CREATED,
            ids,
            {"source": source.value, "actor_id": str(actor_id) if actor_id else None},
        )
        return ids

    async def export_csv(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        view: RowView | None,
        column_ids: Sequence[uuid.UUID],
        output: Callable[[bytes], Awaitable[None]],
    ) -> None:
        """The view's rows as CSV data lines (no header), the given columns in the given order,
        passed to `output` chunk by chunk as PostgreSQL writes them."""
        table = await self.tables.get(workspace_id, table_id)
        all_columns = await self.tables.repo.columns(table.id)
        by_id = {c.id: c for c in all_columns}
        columns = [by_id[c] for c in column_ids if c in by_id]
        compiled = compile_view(view or RowView(), all_columns, sa_table(table.id, all_columns))
        await bulk_storage.copy_view_csv(self.session, columns, compiled, output)
