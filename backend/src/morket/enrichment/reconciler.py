"""The enrichment jobs' kind for the shared reconciler (`morket.runs.reconciler`, docs/runs.md):
every open job gets a workflow or is settled, whatever happened to Temporal (docs/enrichment.md,
"Reconciler"). The worker runs it on every sweep.

What differs from the paced runs: a job's workflow is cancelled by a signal (sent again here if
the job asked for a cancel and its workflow still runs, the first signal may have been lost),
and settling a job releases its credit reservation and starts the webhook deliveries it queued.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.enrichment.control import JobControl
from morket.enrichment.runs import JobRunService
from morket.models import EnrichmentJob
from morket.runs.reconciler import UNSETTLED_AFTER, reconcile
from morket.webhooks.workflows import DeliveryInput, WebhookDeliveryWorkflow


class EnrichmentJobKind:
    noun = "job"

    def __init__(self, client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.client = client
        self.settings = settings
        self.sessions = sessions

    async def open_runs(self, cutoff: datetime) -> Sequence[EnrichmentJob]:
        async with self.sessions() as session:
            return await JobRunService(session, self.settings).unsettled_jobs(cutoff)

    async def start(self, client: Client, run: EnrichmentJob) -> None:
        await JobControl(self.settings).start_workflow(client, run)

    async def signal_cancel(self, client: Client, run: EnrichmentJob) -> bool:
        await JobControl(self.settings).signal_cancel(client, run)
        return True

    async def settle(self, run: EnrichmentJob, error: str | None) -> str:
        """Settle the job (records still pending failed with `error`, reservation released),
        then start the webhook deliveries its settling queued."""
        cancelled = run.cancel_requested_at is not None
        async with unit_of_work(self.sessions) as session:
            settlement = await JobRunService(session, self.settings).settle(
                run.id, cancelled=cancelled, error=None if cancelled else error
            )
        for delivery_id in settlement.delivery_ids:
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self.client.start_workflow(
                    WebhookDeliveryWorkflow.run,
                    DeliveryInput(
                        str(delivery_id), self.settings.webhook_retry_schedule, self.settings.webhook_timeout_seconds
                    ),
                    id=f"webhook-delivery-{delivery_id}",
                    task_queue=self.settings.temporal_task_queue,
                )
        return str(settlement.status)


async def reconcile_jobs(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than: timedelta = UNSETTLED_AFTER,
) -> int:
    """Give every open job a workflow, or settle it; idempotent, safe on several workers at once
    (`morket.runs.reconciler.reconcile`). Settling twice is harmless (the job row is locked and
    a final job is left as it is), and a chunk that still runs cannot write after a settle (it
    only writes records still pending). Returns the number of jobs acted on."""
    return await reconcile(client, EnrichmentJobKind(client, settings, sessions), older_than=older_than)
