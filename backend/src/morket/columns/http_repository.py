"""Every SQL statement of HTTP column runs: the run rows, and the cells a run still has to do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import HttpColumnRun, HttpRunStatus, TableColumn
from morket.tables.storage import sa_table
from morket.tables.types import render_value


class HttpRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run: HttpColumnRun) -> HttpColumnRun:
        self.session.add(run)
        await self.session.flush()
        await self.session.refresh(run)
        return run

    async def get(self, workspace_id: uuid.UUID, run_id: uuid.UUID, *, lock: bool = False) -> HttpColumnRun | None:
        stmt = sa.select(HttpColumnRun).where(HttpColumnRun.id == run_id, HttpColumnRun.workspace_id == workspace_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def get_for_worker(self, run_id: uuid.UUID, *, lock: bool = False) -> HttpColumnRun | None:
        """A run by id alone (worker code): the row carries its workspace, which everything after uses."""
        stmt = sa.select(HttpColumnRun).where(HttpColumnRun.id == run_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

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

    async def open_older_than(self, cutoff: datetime) -> list[HttpColumnRun]:
        """Runs still queued or running that were created before `cutoff` (the reconciler's)."""
        stmt = (
            sa.select(HttpColumnRun)
            .where(
                HttpColumnRun.status.in_([HttpRunStatus.QUEUED, HttpRunStatus.RUNNING]),
                HttpColumnRun.created_at < cutoff,
            )
            .order_by(HttpColumnRun.created_at)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def cancel_requested(self, run_id: uuid.UUID) -> bool:
        stmt = sa.select(HttpColumnRun.cancel_requested_at).where(HttpColumnRun.id == run_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

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
