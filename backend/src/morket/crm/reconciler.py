"""The CRM export runs' kind for the shared reconciler (`morket.runs.reconciler`, docs/runs.md):
a run whose after-commit start failed (Temporal away) is started; a run whose workflow closed
without settling it (terminated, timed out) is settled as failed, its rows not pushed `failed`.
A cancel goes through the database (the batches see it), so a live workflow is left alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.crm.service import CrmExportService
from morket.crm.workflows import CRM_RUN_WORKFLOW
from morket.models import CrmExportRun
from morket.runs import lifecycle
from morket.runs.reconciler import UNSETTLED_AFTER, reconcile
from morket.runs.repository import RunRepository


class CrmRunKind:
    noun = "run"

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    async def open_runs(self, cutoff: datetime) -> Sequence[CrmExportRun]:
        async with self.sessions() as session:
            return await RunRepository(session, CrmExportRun).open_older_than(cutoff)

    async def start(self, client: Client, run: CrmExportRun) -> None:
        await lifecycle.start_workflow(client, self.settings, CRM_RUN_WORKFLOW, run)

    async def signal_cancel(self, client: Client, run: CrmExportRun) -> bool:
        return False

    async def settle(self, run: CrmExportRun, error: str | None) -> str:
        async with unit_of_work(self.sessions) as session:
            status = await CrmExportService(session, self.settings).finish(run.id, error)
        return "missing" if status is None else status.value


async def reconcile_crm_runs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open CRM export run a workflow, or settle it (`morket.runs.reconciler.reconcile`)."""
    return await reconcile(client, CrmRunKind(settings, sessions), older_than=older_than)
