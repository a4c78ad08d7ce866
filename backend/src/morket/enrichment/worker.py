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
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from morket.core.config import Settings
from morket.core.db import make_sessionmaker, unit_of_work
from morket.enrichment.activities import EnrichmentActivities, ProviderAccess
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.service import EnrichmentService
from morket.enrichment.workflows import EnrichmentJobWorkflow
from morket.imports.activities import ImportActivities, start_unstarted_imports
from morket.imports.workflows import TableImportWorkflow
from morket.webhooks.activities import WebhookActivities
from morket.webhooks.workflows import WebhookDeliveryWorkflow

log = logging.getLogger("morket.enrichment.worker")

SWEEP_EVERY = 30.0
UNSTARTED_AFTER = timedelta(seconds=30)


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
        contextlib.AsyncExitStack() as stack,
    ):
        if providers is None:
            providers = await stack.enter_async_context(GatewayProviderAccess.create(settings, sessions))
        enrichment = EnrichmentActivities(sessions, settings, providers)
        webhooks = WebhookActivities(sessions, settings, webhook_http)
        imports = ImportActivities(sessions, settings)
        yield Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[EnrichmentJobWorkflow, WebhookDeliveryWorkflow, TableImportWorkflow],
            activities=[
                enrichment.begin_job,
                enrichment.run_chunk,
                enrichment.finalize_job,
                webhooks.deliver,
                imports.run_import,
                imports.fail_import,
            ],
            max_concurrent_activities=max(50, settings.enrichment_parallel_chunks * 4),
        )


async def start_unstarted_jobs(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Start the workflow of jobs left `queued` (the API could not reach Temporal); idempotent."""
    async with unit_of_work(sessions) as session:
        service = EnrichmentService(session, settings)
        jobs = await service.unstarted_jobs(UNSTARTED_AFTER)
        started = 0
        for job in jobs:
            try:
                await service.start_workflow(client, job)
                started += 1
            except RPCError:
                log.exception("could not start the workflow of job %s", job.id)
    return started


async def _sweep(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    while True:
        try:
            await start_unstarted_jobs(client, settings, sessions)
            await start_unstarted_imports(client, settings, sessions)
        except Exception:  # a sweep failing must not stop the worker
            log.exception("the sweep of unstarted jobs failed")
        await asyncio.sleep(SWEEP_EVERY)


async def run_worker(settings: Settings) -> None:
    # Few connections: each chunk holds one while it writes a batch, the rest (cancel polls, the
    # gateway's cache lookups) are short. PostgreSQL's 100 default connections are shared by all.
    size = settings.enrichment_parallel_chunks + 4
    engine = create_async_engine(settings.database_url, pool_size=size, max_overflow=size, pool_pre_ping=True)
    sessions = make_sessionmaker(engine)
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with enrichment_worker(client, settings, sessions) as worker:
            sweeper = asyncio.create_task(_sweep(client, settings, sessions))
            log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
            async with worker:
                await stop.wait()
            sweeper.cancel()
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
