"""The reconciler kind of a paced batch run (CRM export, HTTP columns): the shared run SQL finds
its open runs, the shared start starts its workflow, the kind's own `finish` settles a run. A
cancel goes through the database (the steps see it), so a live workflow is left alone."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Generic

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.runs import lifecycle
from morket.runs.repository import R, RunRepository

# The kind's settle: its service's `finish(run_id, error)` in the given session (None: no such run).
Finish = Callable[[AsyncSession, Settings, uuid.UUID, str | None], Awaitable[StrEnum | None]]


class PacedRunKind(Generic[R]):
    noun = "run"

    def __init__(
        self,
        model: type[R],
        workflow_name: str,
        finish: Finish,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.model: type[R] = model
        self.workflow_name = workflow_name
        self.finish = finish
        self.settings = settings
        self.sessions = sessions

    async def open_runs(self, cutoff: datetime) -> Sequence[R]:
        async with self.sessions() as session:
            return await RunRepository(session, self.model).open_older_than(cutoff)

    async def start(self, client: Client, run: R) -> None:
        await lifecycle.start_workflow(client, self.settings, self.workflow_name, run)

    async def signal_cancel(self, client: Client, run: R) -> bool:
        return False

    async def settle(self, run: R, error: str | None) -> str:
        async with unit_of_work(self.sessions) as session:
            status = await self.finish(session, self.settings, run.id, error)
        return "missing" if status is None else status.value
