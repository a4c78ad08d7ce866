"""The HTTP column runs' kind for the shared reconciler (`morket.runs.reconciler`, docs/runs.md):
every open run gets a workflow or is settled, whatever happened to Temporal (docs/columns.md,
"HTTP API columns"). The worker runs it on every sweep.

A cancel goes through the database (the chunks see it), so a live workflow is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.columns.http_repository import HttpRunRepository
from morket.columns.http_run import HttpRunService
from morket.columns.http_workflows import HTTP_RUN_WORKFLOW
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.models import HttpColumnRun
from morket.runs import lifecycle
from morket.runs.reconciler import UNSETTLED_AFTER, reconcile


class HttpRunKind:
    noun = "run"

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    async def open_runs(self, cutoff: datetime) -> Sequence[HttpColumnRun]:
        async with self.sessions() as session:
            return await HttpRunRepository(session).open_older_than(cutoff)

    async def start(self, client: Client, run: HttpColumnRun) -> None:
        await lifecycle.start_workflow(client, self.settings, HTTP_RUN_WORKFLOW, run)

    async def signal_cancel(self, client: Client, run: HttpColumnRun) -> bool:
        return False

    async def settle(self, run: HttpColumnRun, error: str | None) -> str:
        async with unit_of_work(self.sessions) as session:
            status = await HttpRunService(session, self.settings).finish(run.id, error)
        return "missing" if status is None else status.value


async def reconcile_http_runs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open HTTP column run a workflow, or settle it (`morket.runs.reconciler.reconcile`)."""
    return await reconcile(client, HttpRunKind(settings, sessions), older_than=older_than)
