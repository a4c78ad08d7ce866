"""`morket worker`: the Temporal worker for enrichment jobs and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from morket.columns.autorun import run_auto_runs
from morket.columns.http_run import HttpRunActivities
from morket.columns.http_workflows import HttpColumnRunWorkflow
from morket.columns.lookup import run_lookup_refresh
from morket.core.config import Settings
from morket.core.db import make_sessionmaker, unit_of_work
from morket.enrichment.activities import EnrichmentActivities, ProviderAccess
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.service import EnrichmentService
from morket.enrichment.workflows import EnrichmentJobWorkflow
from morket.imports.activities import ImportActivities, expire_uploads, start_unstarted_imports
from morket.imports.workflows import TableImportWorkflow
from morket.models import EnrichmentJob
from morket.webhooks.activities import WebhookActivities
from morket.webhooks.workflows import DeliveryInput, WebhookDeliveryWorkflow

log = logging.getLogger("morket.enrichment.worker")

SWEEP_EVERY = 30.0
# A job younger than this may still be getting its workflow from the API: leave it alone.
UNSETTLED_AFTER = timedelta(seconds=30)


async def connect(settings: Settings, *, attempts: int = 30) -> Client:
    """Connect to Temporal, waiting for a dev server that is still starting."""
    for attempt in range(attempts):
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


@asynccontextmanager
async def enrichment_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    providers: ProviderAccess | None = None,
) -> AsyncIterator[Worker]:
    """A configured worker (not yet running) and the resources its activities hold."""
    async with (
        httpx.AsyncClient(follow_redirects=False) as webhook_http,
        httpx.AsyncClient(follow_redirects=False) as column_http,  # issue 10 item 8: HTTP columns
        contextlib.AsyncExitStack() as stack,
    ):
        if providers is None:
            providers = await stack.enter_async_context(GatewayProviderAccess.create(settings, sessions))
        enrichment = EnrichmentActivities(sessions, settings, providers)
        webhooks = WebhookActivities(sessions, settings, webhook_http)
        imports = ImportActivities(sessions, settings)
        http_runs = HttpRunActivities(sessions, settings, column_http)  # issue 10 item 8
        yield Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[EnrichmentJobWorkflow, WebhookDeliveryWorkflow, TableImportWorkflow, HttpColumnRunWorkflow],
            activities=[
                enrichment.begin_job,
                enrichment.run_chunk,
                enrichment.finalize_job,
                webhooks.deliver,
                imports.run_import,
                imports.fail_import,
                http_runs.run_chunk,  # issue 10 item 8: HTTP columns
                http_runs.finish_run,
            ],
            max_concurrent_activities=max(50, settings.enrichment_parallel_chunks * 4),
        )


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
        jobs = await EnrichmentService(session, settings).unsettled_jobs(older_than)
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
        async with sessions() as session:
            await EnrichmentService(session, settings).start_workflow(client, job)
        return 1
    error = None if status is None else f"the job's workflow was {status.name.lower()} before it settled the job"
    async with unit_of_work(sessions) as session:
        settlement = await EnrichmentService(session, settings).settle(
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


async def _sweep(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    while True:
        try:
            await reconcile_jobs(client, settings, sessions)
            await start_unstarted_imports(client, settings, sessions)
            await expire_uploads(settings, sessions)
        except Exception:  # a sweep failing must not stop the worker
            log.exception("the sweep of unsettled jobs failed")
        await asyncio.sleep(SWEEP_EVERY)


def worker_pool_size(settings: Settings) -> tuple[int, int]:
    """(pool_size, max_overflow) for the worker's concurrency.

    Each running chunk holds one connection while it writes a batch and briefly one for its
    cancel poll; bookkeeping activities and webhook deliveries need a few more. Cache lookups
    (up to `record_concurrency` per chunk) are short and queue for the overflow. Heartbeats use
    no connection at all, so a busy pool delays lookups, never a heartbeat. PostgreSQL's 100
    default connections are shared by every process, so the overflow is bounded too.
    """
    chunks = settings.enrichment_parallel_chunks
    return 2 * chunks + 4, min(chunks * settings.enrichment_record_concurrency, 2 * chunks + 16)


async def run_worker(settings: Settings) -> None:
    size, overflow = worker_pool_size(settings)
    engine = create_async_engine(settings.database_url, pool_size=size, max_overflow=overflow, pool_pre_ping=True)
    sessions = make_sessionmaker(engine)
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with enrichment_worker(client, settings, sessions) as worker:
            sweeper = asyncio.create_task(_sweep(client, settings, sessions))
            # issue 10: enrichment columns with auto-run follow the tables' outbox (docs/columns.md)
            auto_runs = asyncio.create_task(run_auto_runs(client, settings, sessions, stop))
            # issue 10 item 7: lookup columns follow the tables they read (docs/columns.md)
            lookups = asyncio.create_task(run_lookup_refresh(sessions, stop))
            log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
            async with worker:
                await stop.wait()
            sweeper.cancel()
            await auto_runs
            await lookups
    finally:
        await engine.dispose()


def main(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM, on uvloop when it is installed (it comes with uvicorn)."""
    # The worker allocates many short-lived objects per provider call (requests, responses, JSON);
    # collecting the youngest generation less often saves a few percent of its CPU.
    gc.set_threshold(20_000, 20, 20)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(run_worker(settings))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_worker(settings))
