"""The CRM export runs' reconciler: the shared one (`morket.runs.reconciler`, docs/runs.md) over
`crm_export_runs`: a run whose after-commit start failed (Temporal away) is started; a run whose
workflow closed without settling it (terminated, timed out) is settled as failed, its rows not
pushed `failed`; a run cancelled before any start is settled as cancelled."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.crm.service import CrmExportService
from morket.crm.workflows import CRM_RUN_WORKFLOW
from morket.models import CrmExportRun, CrmRunStatus
from morket.runs.kinds import PacedRunKind
from morket.runs.reconciler import UNSETTLED_AFTER, reconcile


async def _finish(
    session: AsyncSession, settings: Settings, run_id: uuid.UUID, error: str | None
) -> CrmRunStatus | None:
    return await CrmExportService(session, settings).finish(run_id, error)


async def reconcile_crm_runs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open CRM export run a workflow, or settle it (`morket.runs.reconciler.reconcile`)."""
    kind = PacedRunKind(CrmExportRun, CRM_RUN_WORKFLOW, _finish, settings, sessions)
    return await reconcile(client, kind, older_than=older_than)
