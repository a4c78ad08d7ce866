"""The HTTP column runs' reconciler: the shared one (`morket.runs.reconciler`, docs/runs.md) over
`http_column_runs`: every open run gets a workflow or is settled, whatever happened to Temporal
(docs/columns.md, "HTTP API columns"). The worker runs it on every sweep."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.columns.http_run import HttpRunService
from morket.columns.http_workflows import HTTP_RUN_WORKFLOW
from morket.core.config import Settings
from morket.models import HttpColumnRun, HttpRunStatus
from morket.runs.kinds import PacedRunKind
from morket.runs.reconciler import UNSETTLED_AFTER, reconcile


async def _finish(
    session: AsyncSession, settings: Settings, run_id: uuid.UUID, error: str | None
) -> HttpRunStatus | None:
    return await HttpRunService(session, settings).finish(run_id, error)


async def reconcile_http_runs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open HTTP column run a workflow, or settle it (`morket.runs.reconciler.reconcile`)."""
    kind = PacedRunKind(HttpColumnRun, HTTP_RUN_WORKFLOW, _finish, settings, sessions)
    return await reconcile(client, kind, older_than=older_than)
