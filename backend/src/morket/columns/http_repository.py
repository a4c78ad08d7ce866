"""Every SQL statement of HTTP column runs: the run rows, and the cells a run still has to do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import HttpColumnRun, TableColumn
from morket.runs.repository import RunRepository
from morket.tables.storage import sa_table
from morket.tables.types import render_value


class HttpRunRepository(RunRepository[HttpColumnRun]):
    """The shared run SQL (`get`, `get_for_worker`, `cancel_requested`, `open_older_than`) and
    this kind's own: its counters and the cells it still has to do."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, HttpColumnRun)

    async def add(self, run: HttpColumnRun) -> HttpColumnRun:
        self.session.add(run)
        await self.session.flush()
        await self.session.refresh(run)
        return run

    async def add_counts(self, run_id: uuid.UUID, done: int, no_data: int, errors: int) -> None:
        await self.session.execute(
            sa.update(HttpColumnRun)
            .where(HttpColumnRun.id == run_id)
            .values(
                done_count=HttpColumnRun.done_count + done,
                no_data_count=HttpColumnRun.no_data_count + no_data,
                error_count=HttpColumnRun.error_count + errors,
            )
        )

    async def pending_rows(
        self,
        table_id: uuid.UUID,
        columns: Sequence[TableColumn],
        column_id: uuid.UUID,
        run_id: uuid.UUID,
        read: Sequence[TableColumn],
        limit: int,
        states: Sequence[str] = ("queued",),
    ) -> list[tuple[int, dict[uuid.UUID, Any]]]:
        """The next `limit` rows (row id order) whose cell is in one of `states` of this run, with
        the `read` columns' values as the API renders them. Read along the primary key: the rows
        of a run are found by their cell's state, so no cursor is needed (done rows drop out)."""
        table = sa_table(table_id, columns)
        cell = table.c._meta[str(column_id)]
        stmt = (
            sa.select(table.c._id, *(table.c[c.physical_name] for c in read))
            .where(cell["run_id"].astext == str(run_id), cell["state"].astext.in_(list(states)))
            .order_by(table.c._id)
            .limit(limit)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(int(r[0]), {c.id: render_value(c.type, r[i + 1]) for i, c in enumerate(read)}) for r in rows]
