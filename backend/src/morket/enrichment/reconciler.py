"""The enrichment jobs' reconciler: every open job gets a workflow or is settled, whatever
happened to Temporal (docs/enrichment.md, "Reconciler"). The worker runs it on every sweep."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.enrichment.control import JobControl
from morket.enrichment.runs import JobRunService
from morket.enrichment.workflows import EnrichmentJobWorkflow
from morket.models import EnrichmentJob
from morket.webhooks.workflows import DeliveryInput, WebhookDeliveryWorkflow

log = logging.getLogger("morket.enrichment.reconciler")

# A job younger than this may still be getting its workflow from the API: leave it alone.
UNSETTLED_AFTER = timedelta(seconds=30)


async def reconcile_jobs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open job a workflow, or settle it; idempotent, safe on several workers at once.

    For each job not final after `older_than`, by the state of its workflow in Temporal:
    - none, no cancel asked: start it (Temporal was unreachable when the job was posted);
    - none, cancel asked: settle it as cancelled here (no workflow will ever do it);
    - running, cancel asked: signal the cancel again (the first signal may have been lost);
    - closed without settling (terminated, timed out, failed outside our code): settle it here,
      its pending records failed with the reason, and release its reservation.
    Settling twice is harmless (the job row is locked and a final job is left as it is), and a
    chunk that still runs cannot write after a settle (it only writes records still pending).
    Returns the number of jobs acted on.
    """
    async with sessions() as session:
        jobs = await JobRunService(session, settings).unsettled_jobs(older_than)
    acted = 0
    for job in jobs:
        try:
            acted += await _reconcile(client, settings, sessions, job)
        except (RPCError, RuntimeError):  # Temporal unreachable: the next sweep tries again
            log.exception("could not reconcile job %s", job.id)
    return acted


async def _reconcile(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession], job: EnrichmentJob
) -> int:
    cancel_requested = job.cancel_requested_at is not None
    handle = client.get_workflow_handle(job.workflow_id)
    try:
        status: WorkflowExecutionStatus | None = (await handle.describe()).status
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        status = None
    if status is WorkflowExecutionStatus.RUNNING:
        if not cancel_requested:
            return 0
        await handle.signal(EnrichmentJobWorkflow.cancel)
        return 1
    if status is None and not cancel_requested:
        await JobControl(settings).start_workflow(client, job)
        return 1
    error = None if status is None else f"the job's workflow was {status.name.lower()} before it settled the job"
    async with unit_of_work(sessions) as session:
        settlement = await JobRunService(session, settings).settle(
            job.id, cancelled=cancel_requested, error=None if cancel_requested else error
        )
    log.warning("settled job %s as %s (workflow: %s)", job.id, settlement.status, status)
    for delivery_id in settlement.delivery_ids:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                WebhookDeliveryWorkflow.run,
                DeliveryInput(str(delivery_id), settings.webhook_retry_schedule, settings.webhook_timeout_seconds),
                id=f"webhook-delivery-{delivery_id}",
                task_queue=settings.temporal_task_queue,
            )
    return 1
