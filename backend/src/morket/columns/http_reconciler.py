"""The HTTP column runs' reconciler: every open run gets a workflow or is settled, whatever
happened to Temporal (docs/columns.md, "HTTP API columns"). The worker runs it on every sweep,
beside the enrichment jobs' reconciler (`enrichment/reconciler.py`), which it mirrors.

A run is started after the commit of its rows (`after_commit`, or the auto-runner after its
batch); a start that failed (Temporal unreachable) leaves it `queued` with no workflow. Nothing
here sends a request or writes a cell value: it starts the workflow, or asks the run's own
`finish` (the same code the workflow's last activity runs) to settle it.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from morket.columns.http_repository import HttpRunRepository
from morket.columns.http_run import HttpRunService
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.models import HttpColumnRun

log = logging.getLogger("morket.columns.http_reconciler")

# A run younger than this may still be getting its workflow from the API: leave it alone.
UNSETTLED_AFTER = timedelta(seconds=30)


async def reconcile_http_runs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open run a workflow, or settle it; idempotent, safe on several workers at once.

    For each run still queued or running after `older_than`, by the state of its workflow:
    - running: nothing (a cancel goes through the database; the chunks see it);
    - none, no cancel asked: start it (Temporal was unreachable when the run was posted);
    - none, cancel asked: settle it as cancelled (no workflow will ever do it);
    - closed without settling (terminated, timed out, failed outside our code): settle it as
      failed with the reason; the rows it did not reach show the error.
    Settling locks the run row and leaves a final run as it is, and a chunk only writes cells
    still queued or running for its run. Returns the number of runs acted on.
    """
    async with sessions() as session:
        runs = await HttpRunRepository(session).open_older_than(datetime.now(UTC) - older_than)
    acted = 0
    for run in runs:
        try:
            acted += await _reconcile(client, settings, sessions, run)
        except (RPCError, RuntimeError):  # Temporal unreachable: the next sweep tries again
            log.exception("could not reconcile HTTP column run %s", run.id)
    return acted


async def _reconcile(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession], run: HttpColumnRun
) -> int:
    cancel_requested = run.cancel_requested_at is not None
    try:
        status: WorkflowExecutionStatus | None = (await client.get_workflow_handle(run.workflow_id).describe()).status
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        status = None
    if status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return 0
    if status is None and not cancel_requested:
        async with sessions() as session:
            with contextlib.suppress(WorkflowAlreadyStartedError):  # another worker's sweep was first
                await HttpRunService(session, settings).start_workflow(client, run)
        log.warning("started the workflow of HTTP column run %s (its start had failed)", run.id)
        return 1
    error = None
    if status is not None and not cancel_requested:
        error = f"the run's workflow was {status.name.lower()} before it settled the run"
    async with unit_of_work(sessions) as session:
        settled = await HttpRunService(session, settings).finish(run.id, error)
    log.warning("settled HTTP column run %s as %s (workflow: %s)", run.id, settled, status)
    return 1
