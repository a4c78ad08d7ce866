"""`morket worker`: the one Temporal worker process for every domain.

It registers the workflows and activities of enrichment jobs (and column runs), webhook
delivery and table imports on one task queue, and runs beside them the sweep (the reconcilers
of enrichment jobs and HTTP column runs, unstarted imports, expired uploads) and the column
auto-runner (docs/columns.md).
A domain adds its workflows and activities in `build_worker` and its periodic work in `_sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.client import Client
from temporalio.worker import Worker

from morket.columns.autorun import run_auto_runs
from morket.columns.http_reconciler import reconcile_http_runs
from morket.columns.http_run import HttpRunActivities
from morket.columns.http_workflows import HttpColumnRunWorkflow
from morket.columns.lookup import run_lookup_refresh
from morket.core.config import Settings
from morket.core.db import make_sessionmaker
from morket.crm.activities import CrmActivities
from morket.crm.reconciler import reconcile_crm_runs
from morket.crm.workflows import CrmExportRunWorkflow
from morket.enrichment.activities import EnrichmentActivities, ProviderAccess
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.reconciler import reconcile_jobs
from morket.enrichment.workflows import EnrichmentJobWorkflow
from morket.imports.activities import ImportActivities, expire_uploads, start_unstarted_imports
from morket.imports.workflows import TableImportWorkflow
from morket.webhooks.activities import WebhookActivities
from morket.webhooks.workflows import WebhookDeliveryWorkflow

log = logging.getLogger("morket.worker")

SWEEP_EVERY = 30.0


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
async def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    providers: ProviderAccess | None = None,
) -> AsyncIterator[Worker]:
    """A configured worker for every domain (not yet running) and the resources its activities hold."""
    async with (
        httpx.AsyncClient(follow_redirects=False) as webhook_http,
        httpx.AsyncClient(follow_redirects=False) as column_http,  # issue 10 item 8: HTTP columns
        httpx.AsyncClient(  # issue 15 item 1: CRM export
            follow_redirects=False, timeout=settings.provider_timeout_seconds
        ) as crm_http,
        contextlib.AsyncExitStack() as stack,
    ):
        if providers is None:
            providers = await stack.enter_async_context(GatewayProviderAccess.create(settings, sessions))
        enrichment = EnrichmentActivities(sessions, settings, providers)
        webhooks = WebhookActivities(sessions, settings, webhook_http)
        http_runs = HttpRunActivities(sessions, settings, column_http)  # issue 10 item 8
        imports = ImportActivities(sessions, settings)
        crm = CrmActivities(sessions, settings, crm_http)  # issue 15 item 1
        yield Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[
                EnrichmentJobWorkflow,
                WebhookDeliveryWorkflow,
                TableImportWorkflow,
                HttpColumnRunWorkflow,
                CrmExportRunWorkflow,
            ],
            activities=[
                enrichment.begin_job,
                enrichment.run_chunk,
                enrichment.finalize_job,
                webhooks.deliver,
                imports.run_import,
                imports.fail_import,
                http_runs.run_chunk,  # issue 10 item 8: HTTP columns
                http_runs.finish_run,
                crm.push_batch,  # issue 15 item 1: CRM export
                crm.finish_run,
            ],
            max_concurrent_activities=max(50, settings.enrichment_parallel_chunks * 4),
        )


async def _sweep(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    while True:
        try:
            await reconcile_jobs(client, settings, sessions)
            await reconcile_http_runs(client, settings, sessions)  # issue 10 item 8: HTTP columns
            await start_unstarted_imports(client, settings, sessions)
            await expire_uploads(settings, sessions)
            await reconcile_crm_runs(client, settings, sessions)  # issue 15 item 1: CRM export
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
        async with build_worker(client, settings, sessions) as worker:
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
