"""Every SQL statement on the tables' metadata: data_tables, table_columns and cell_history.

The rows themselves live in per-table physical tables; their SQL is in `tables/storage.py`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import CellHistory, CellSource, DataTable, TableColumn
from morket.tables.storage import driver_in_transaction

# Built once (constructing it was a tenth of a one-row edit's Python time); always re-read: the
# row count moves under bulk writes made through Core statements.
_TABLE_WITH_COLUMNS = (
    select(DataTable, TableColumn)
    .outerjoin(TableColumn, TableColumn.table_id == DataTable.id)
    .where(
        DataTable.id == bindparam("table"),
        DataTable.workspace_id == bindparam("workspace"),
        DataTable.deleted_at.is_(None),
    )
    .order_by(TableColumn.position, TableColumn.id)
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True)
class HistoryEntry:
    row_id: int
    column_id: uuid.UUID
    old_value: Any
    new_value: Any


class TablesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # tables ------------------------------------------------------------------------------

    async def add_table(self, table: DataTable) -> DataTable:
        self.session.add(table)
        await self.session.flush()
        return table

    async def get_table(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, *, deleted: bool = False, lock: bool = False
    ) -> DataTable | None:
        stmt = select(DataTable).where(DataTable.id == table_id, DataTable.workspace_id == workspace_id)
        stmt = stmt.where(DataTable.deleted_at.is_not(None) if deleted else DataTable.deleted_at.is_(None))
        if lock:
            stmt = stmt.with_for_update()
        # Always re-read: the row count moves under bulk writes made through Core statements.
        stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_tables(
        self, workspace_id: uuid.UUID, *, deleted: bool, offset: int, limit: int
    ) -> tuple[list[DataTable], int]:
        where = [DataTable.workspace_id == workspace_id]
        where.append(DataTable.deleted_at.is_not(None) if deleted else DataTable.deleted_at.is_(None))
        total = (await self.session.execute(select(func.count()).select_from(DataTable).where(*where))).scalar_one()
        stmt = select(DataTable).where(*where).order_by(DataTable.created_at.desc(), DataTable.id).offset(offset)
        items = (await self.session.execute(stmt.limit(limit))).scalars().all()
        return list(items), int(total)

    async def add_row_count(self, table_id: uuid.UUID, delta: int) -> None:
        await self.session.execute(
            update(DataTable)
            .where(DataTable.id == table_id)
            .values(row_count=DataTable.row_count + delta, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def deleted_before(self, cutoff: datetime) -> list[DataTable]:
        stmt = select(DataTable).where(DataTable.deleted_at.is_not(None), DataTable.deleted_at < cutoff)
        return list((await self.session.execute(stmt.with_for_update(skip_locked=True))).scalars().all())

    async def remove_table(self, table: DataTable) -> None:
        await self.session.delete(table)
        await self.session.flush()

    # columns -----------------------------------------------------------------------------

    async def table_with_columns(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID
    ) -> tuple[DataTable, list[TableColumn]] | None:
        """A live table and its columns in display order, in one round trip (the rows page's and
        every row write's read)."""
        rows = (await self.session.execute(_TABLE_WITH_COLUMNS, {"table": table_id, "workspace": workspace_id})).all()
        if not rows:
            return None
        return rows[0][0], [column for _, column in rows if column is not None]

    async def columns(self, table_id: uuid.UUID) -> list[TableColumn]:
        stmt = (
            select(TableColumn).where(TableColumn.table_id == table_id).order_by(TableColumn.position, TableColumn.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def add_column(self, column: TableColumn) -> TableColumn:
        self.session.add(column)
        await self.session.flush()
        return column

    async def remove_column(self, column: TableColumn) -> None:
        await self.session.delete(column)
        await self.session.flush()

    async def next_position(self, table_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.max(TableColumn.position), -1)).where(TableColumn.table_id == table_id)
        return int((await self.session.execute(stmt)).scalar_one()) + 1

    # history -----------------------------------------------------------------------------

    async def add_history(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        entries: Sequence[HistoryEntry],
        source: CellSource,
        actor_id: uuid.UUID | None,
    ) -> None:
        if not entries:
            return
        driver = await driver_in_transaction(self.session)
        # One INSERT over arrays: a single round trip with a cached plan, whatever the count (COPY
        # would first ask the server for the table's column types, a second round trip per edit).
        await driver.execute(
            "INSERT INTO cell_history "
            "(workspace_id, table_id, row_id, column_id, old_value, new_value, source, actor_id) "
            "SELECT $1, $2, h.row_id, h.column_id, h.old_value::jsonb, h.new_value::jsonb, $3, $4 "
            "FROM unnest($5::bigint[], $6::uuid[], $7::text[], $8::text[]) "
            "AS h(row_id, column_id, old_value, new_value)",
            workspace_id,
            table_id,
            source.value,
            actor_id,
            [entry.row_id for entry in entries],
            [entry.column_id for entry in entries],
            [None if entry.old_value is None else json.dumps(entry.old_value, default=str) for entry in entries],
            [None if entry.new_value is None else json.dumps(entry.new_value, default=str) for entry in entries],
        )

    async def history(
        self,
        table_id: uuid.UUID,
        row_id: int,
        column_id: uuid.UUID | None,
        offset: int,
        limit: int,
    ) -> tuple[list[CellHistory], int]:
        where = [CellHistory.table_id == table_id, CellHistory.row_id == row_id]
        if column_id is not None:
            where.append(CellHistory.column_id == column_id)
        total = (await self.session.execute(select(func.count()).select_from(CellHistory).where(*where))).scalar_one()
        stmt = select(CellHistory).where(*where).order_by(CellHistory.id.desc()).offset(offset).limit(limit)
        return list((await self.session.execute(stmt)).scalars().all()), int(total)

    async def lock_timeout(self, milliseconds: int) -> None:
        await self.session.execute(text(f"SET LOCAL lock_timeout = {int(milliseconds)}"))
