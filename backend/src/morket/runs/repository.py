"""The SQL every durable run table shares: a run scoped by workspace, a run by id for worker
code, the cancel flag, the open runs for the reconciler. A kind's own repository adds the rest
(its rows, its counters)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import CrmExportRun, HttpColumnRun

# The run tables of paced batch runs; each has id, workspace_id, status (queued, running,
# completed, cancelled, failed), workflow_id, cancel_requested_at, started_at, finished_at, error.
R = TypeVar("R", HttpColumnRun, CrmExportRun)

OPEN_STATUSES = ("queued", "running")


class RunRepository(Generic[R]):
    def __init__(self, session: AsyncSession, model: type[R]) -> None:
        self.session = session
        self.model: type[R] = model

    async def get(self, workspace_id: uuid.UUID, run_id: uuid.UUID, *, lock: bool = False) -> R | None:
        stmt = sa.select(self.model).where(self.model.id == run_id, self.model.workspace_id == workspace_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def get_for_worker(self, run_id: uuid.UUID, *, lock: bool = False) -> R | None:
        """A run by id alone (worker code): the row carries its workspace, which everything after uses."""
        stmt = sa.select(self.model).where(self.model.id == run_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def cancel_requested(self, run_id: uuid.UUID) -> bool:
        stmt = sa.select(self.model.cancel_requested_at).where(self.model.id == run_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def open_older_than(self, cutoff: datetime, limit: int = 500) -> list[R]:
        """Runs still queued or running that were created before `cutoff` (the reconciler's;
        each run table has a partial index on `created_at` for its open rows)."""
        stmt = (
            sa.select(self.model)
            .where(self.model.status.in_(OPEN_STATUSES), self.model.created_at < cutoff)
            .order_by(self.model.created_at)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())
