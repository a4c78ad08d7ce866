"""Every job reaches a final status and gives its reservation back, whatever happened around it:
Temporal down for the POST or the cancel, a cancel racing the finalize, a lost cancel signal, a
workflow terminated by an operator, a poisoned record, a pool with no connection to spare, two
live attempts of one chunk. All on the real stack (PostgreSQL, Temporal, the provider sandbox)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from morket.app import create_app
from morket.core.config import Settings
from morket.core.db import make_sessionmaker, unit_of_work
from morket.devstack.temporal import TemporalDevServer
from morket.enrichment.activities import EnrichmentActivities
from morket.enrichment.catalog import ProviderCatalog
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.reconciler import reconcile_jobs
from morket.enrichment.service import EnrichmentService
from morket.enrichment.workflows import RUN_CHUNK, ChunkInput
from morket.models import EnrichmentJob, TableColumn
from morket.tables.storage import qualified
from morket.worker import build_worker
from tests.enrichment.conftest import enrichment_settings_for
from tests.enrichment.helpers import (
    all_records,
    balance,
    create_job,
    funded_workspace,
    ledger,
    people,
    wait_for_job,
)
from tests.factories import TestUser

Sessions = async_sessionmaker[AsyncSession]
WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"]}


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def sandbox_latency(sandbox: SandboxServer, ms: int) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": ms}})).status_code == 200


def body(n: int, tag: str) -> dict[str, Any]:
    return {"records": people(n, tag=tag), "fields": list(WATERFALL), "waterfall": WATERFALL}


async def job_row(sessions: Sessions, job_id: str) -> dict[str, Any]:
    async with sessions() as s:
        row = (await s.execute(text("SELECT * FROM enrichment_jobs WHERE id = :j"), {"j": job_id})).one()
    return dict(row._mapping)


async def duplicate_attempts(sessions: Sessions, job_id: str) -> int:
    """(record, field, provider) asked more than once: a chunk ran its records twice."""
    async with sessions() as s:
        return int(
            (
                await s.execute(
                    text(
                        "SELECT count(*) FROM (SELECT 1 FROM enrichment_attempts WHERE job_id = :j"
                        " GROUP BY record_id, field, provider HAVING count(*) > 1) d"
                    ),
                    {"j": job_id},
                )
            ).scalar_one()
        )


@asynccontextmanager
async def running_worker(settings: Settings, client: Client, sessions: Sessions) -> AsyncIterator[None]:
    async with build_worker(client, settings, sessions) as w, w:
        yield


# -- item 2: Temporal down for the POST, the cancel, or both ---------------------------------


@pytest.mark.parametrize("cancel_with", ["temporal_down", "temporal_up"])
async def test_cancel_of_a_job_whose_workflow_never_started_settles(
    api: httpx.AsyncClient,
    api_temporal_down: httpx.AsyncClient,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
    cancel_with: str,
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    start = await balance(api, user, ws)
    job = await create_job(api_temporal_down, user, ws, body(20, "down"))
    assert job["status"] == "queued" and job["credits"]["reserved"] > 0
    path = f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}"
    canceller = api_temporal_down if cancel_with == "temporal_down" else api
    cancel = await canceller.post(f"{path}/cancel", headers=user.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["data"]["status"] == "cancelling"
    assert (await balance(api, user, ws))["reserved"] > 0

    # The worker's sweep (Temporal is back) settles it: there is no workflow to do it.
    await reconcile_jobs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0))
    done = await wait_for_job(api, user, ws, job["id"], timeout=30)
    assert done["status"] == "cancelled"
    assert done["counts"]["cancelled"] == 20 and done["counts"]["pending"] == 0
    end = await balance(api, user, ws)
    assert (end["balance"], end["reserved"]) == (start["balance"], 0)
    assert await ledger(sessions, job["id"]) == (0, 0)


# -- item 6: workflows ended outside our code ---------------------------------------------------


async def test_terminated_workflow_is_reconciled_and_running_ones_are_left_alone(
    api: httpx.AsyncClient, enrichment_settings: Settings, temporal_client: Client, sessions: Sessions
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    start = await balance(api, user, ws)
    # No worker: both workflows wait for one. An operator terminates the first.
    killed = await create_job(api, user, ws, body(10, "term"))
    alive = await create_job(api, user, ws, body(10, "alive"))
    await temporal_client.get_workflow_handle(killed["workflow_id"]).terminate(reason="operator")

    await reconcile_jobs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0))
    done = await wait_for_job(api, user, ws, killed["id"], timeout=30)
    assert done["status"] == "failed"
    assert done["counts"]["failed"] == 10 and done["counts"]["pending"] == 0
    assert done["error"] is not None and "terminated" in done["error"]
    records = await all_records(api, user, ws, killed["id"])
    assert all(r["status"] == "failed" and r["error"] for r in records)
    # The other job's workflow is still running: untouched, still holding its reservation.
    other = await job_row(sessions, alive["id"])
    assert other["status"] == "queued" and other["finished_at"] is None
    end = await balance(api, user, ws)
    assert end["balance"] == start["balance"]
    assert end["reserved"] == alive["credits"]["reserved"]


# -- item 3: a cancel racing the finalize ------------------------------------------------------


async def test_cancel_racing_finalize_never_overwrites_the_final_status(
    api: httpx.AsyncClient, enrichment_settings: Settings, sessions: Sessions
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    job = await create_job(api, user, ws, body(5, "race"))
    path = f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}"
    async with sessions() as finalizing:
        # The finalize holds the job row (uncommitted) while the cancel request comes in.
        settled = await EnrichmentService(finalizing, enrichment_settings).settle(
            uuid.UUID(job["id"]), cancelled=False, error=None
        )
        assert settled.status == "failed"
        cancel = asyncio.create_task(api.post(f"{path}/cancel", headers=user.headers))

        async def cancel_waits_for_the_lock() -> bool:
            async with sessions() as probe:
                waiting = await probe.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query ILIKE '%enrichment_jobs%FOR UPDATE%'"
                    )
                )
                return bool(waiting.scalar_one())

        await wait_until(cancel_waits_for_the_lock, 30, "the cancel to wait for the job's row lock")
        await finalizing.commit()
    response = await asyncio.wait_for(cancel, 30)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "job_finished"
    row = await job_row(sessions, job["id"])
    assert row["status"] == "failed" and row["cancel_requested_at"] is None


# -- item 4: a lost cancel signal ------------------------------------------------------------------


async def test_lost_cancel_signal_stops_scheduling_chunks(
    database_url: str,
    temporal_server: TemporalDevServer,
    sandbox: SandboxServer,
    reset_sandbox: None,
    temporal_client: Client,
    sessions: Sessions,
    clean_db: None,
) -> None:
    settings = enrichment_settings_for(
        database_url,
        temporal_server,
        sandbox,
        enrichment_chunk_size=10,
        enrichment_parallel_chunks=2,
        enrichment_chunks_per_run=100,
    )
    app = create_app(settings)
    app.state.temporal_client = temporal_client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        user, ws = await funded_workspace(api, credits=100_000)
        job = await create_job(api, user, ws, body(200, "lost"))
        # Cancelled in the database only: the signal never reaches the workflow.
        async with unit_of_work(sessions) as s:
            await EnrichmentService(s, settings).request_cancel(uuid.UUID(ws), uuid.UUID(job["id"]))
        async with running_worker(settings, temporal_client, sessions):
            done = await wait_for_job(api, user, ws, job["id"], timeout=60)
            await temporal_client.get_workflow_handle(job["workflow_id"]).result()
        end = await balance(api, user, ws)
    await app.state.engine.dispose()
    assert done["status"] == "cancelled" and done["counts"]["cancelled"] == 200
    assert end["reserved"] == 0
    handle = temporal_client.get_workflow_handle(job["workflow_id"])
    chunks = 0
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            chunks += event.activity_task_scheduled_event_attributes.activity_type.name == RUN_CHUNK
    # 20 chunks planned; the first that reported "cancelled" stopped the scheduling.
    assert 1 <= chunks <= settings.enrichment_parallel_chunks, chunks


# -- item 5: one poisoned record ---------------------------------------------------------------------


async def test_poisoned_record_fails_alone_and_its_chunk_is_not_retried(
    api: httpx.AsyncClient,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
) -> None:
    user, ws = await funded_workspace(api, credits=100_000)
    start = await balance(api, user, ws)
    job = await create_job(api, user, ws, body(31, "poison"))
    # A row written before inputs were length-checked: a 100,000-character domain in record 7's
    # row (the job's records are its table's rows, read when their chunk runs).
    async with unit_of_work(sessions) as s:
        stored = await s.get(EnrichmentJob, uuid.UUID(job["id"]))
        assert stored is not None and stored.table_id is not None and stored.target is not None
        column = await s.get(TableColumn, uuid.UUID(stored.target["inputs"]["domain"]))
        assert column is not None
        await s.execute(
            text(
                f'UPDATE {qualified(stored.table_id)} SET "{column.physical_name}" = :d'
                " WHERE _id = (SELECT row_id FROM enrichment_records WHERE job_id = :j AND seq = 7)"
            ),
            {"d": "x" * 100_000 + ".com", "j": stored.id},
        )
    async with running_worker(enrichment_settings, temporal_client, sessions):
        done = await wait_for_job(api, user, ws, job["id"], timeout=90)
    assert done["status"] == "partially_completed", done
    assert (done["counts"]["completed"], done["counts"]["failed"]) == (30, 1)
    records = await all_records(api, user, ws, job["id"])
    poisoned = records[7]
    assert poisoned["status"] == "failed" and poisoned["credits_spent"] == 0
    assert poisoned["error"] and "email" in poisoned["error"]
    detail = (
        await api.get(f"/api/v1/workspaces/{ws}/enrichment-records/{poisoned['id']}", headers=user.headers)
    ).json()
    reasons = [a["error"] for a in detail["data"]["attempts"] if a["outcome"] == "unexpected_error"]
    assert reasons and all(len(r) <= 500 for r in reasons), detail["data"]["attempts"]
    # No provider was asked twice for a record: the chunk ran once.
    assert await duplicate_attempts(sessions, job["id"]) == 0
    debits, spent = await ledger(sessions, job["id"])
    found = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    assert debits == found and spent == sum(r["credits_spent"] for r in records) == done["credits"]["spent"]
    end = await balance(api, user, ws)
    assert (end["balance"], end["reserved"]) == (start["balance"] - spent, 0)


# -- item 8 and the "already written" guard: the chunk activity run directly ----------------------


@asynccontextmanager
async def chunk_activities(settings: Settings, sessions: Sessions) -> AsyncIterator[EnrichmentActivities]:
    async with GatewayProviderAccess.create(settings, sessions) as providers:
        yield EnrichmentActivities(sessions, settings, providers)


async def queued_job(api: httpx.AsyncClient, n: int, tag: str) -> tuple[TestUser, str, dict[str, Any]]:
    """A job whose workflow waits for a worker that never comes: the test runs its chunk itself."""
    user, ws = await funded_workspace(api, credits=100_000)
    return user, ws, await create_job(api, user, ws, body(n, tag))


async def test_heartbeats_do_not_wait_for_a_pooled_connection(
    api: httpx.AsyncClient, enrichment_settings: Settings, sandbox: SandboxServer
) -> None:
    await sandbox_latency(sandbox, 500)
    _user, _ws, job = await queued_job(api, 40, "beat")
    # A pool of one connection, which the test takes away while the chunk runs.
    engine = create_async_engine(enrichment_settings.database_url, pool_size=1, max_overflow=0, pool_timeout=120)
    small = make_sessionmaker(engine)
    beats: list[float] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(time.monotonic())
    try:
        async with chunk_activities(enrichment_settings, small) as activities:
            run = asyncio.create_task(env.run(activities.run_chunk, ChunkInput(job["id"], 0, 40)))

            async def beats_after(n: int) -> bool:
                assert not run.done() or run.exception() is None, run.exception()
                return len(beats) >= n

            await wait_until(lambda: beats_after(1), 60, "the first heartbeat")
            async with asyncio.timeout(60), engine.connect() as held:
                await held.execute(text("SELECT 1"))
                seen = len(beats)
                # Temporal would time the chunk out (and start a second, paying attempt) without these.
                await wait_until(lambda: beats_after(seen + 3), 20, "heartbeats while the pool is exhausted")
            result = await asyncio.wait_for(run, 120)
    finally:
        await engine.dispose()
    assert result.processed == 40 and not result.cancelled


async def test_two_live_attempts_of_one_chunk_write_and_charge_once(
    api: httpx.AsyncClient, enrichment_settings: Settings, sandbox: SandboxServer, sessions: Sessions
) -> None:
    """A timed-out attempt still running beside its retry: only one of them may write each record."""
    await sandbox_latency(sandbox, 300)
    user, ws, job = await queued_job(api, 40, "twice")
    start = await balance(api, user, ws)
    first, retry = ActivityEnvironment(), ActivityEnvironment()
    # Both as retries: neither may answer from the cache the other fills, so both call providers.
    first.info = dataclasses.replace(first.info, attempt=2)
    retry.info = dataclasses.replace(retry.info, attempt=3)
    chunk = ChunkInput(job["id"], 0, 40)
    async with chunk_activities(enrichment_settings, sessions) as activities:
        results = await asyncio.wait_for(
            asyncio.gather(first.run(activities.run_chunk, chunk), retry.run(activities.run_chunk, chunk)), 120
        )
    assert sum(r.processed for r in results) == 40, results
    assert await duplicate_attempts(sessions, job["id"]) == 0
    records = await all_records(api, user, ws, job["id"])
    assert all(r["status"] != "pending" for r in records)
    debits, spent = await ledger(sessions, job["id"])
    found = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    assert debits == found and spent == sum(r["credits_spent"] for r in records) > 0
    assert (await balance(api, user, ws))["balance"] == start["balance"] - spent


# -- item 1 through the API: members cannot mint credits by posting and cancelling ------------------


async def test_post_cancel_cycles_recharge_at_most_once(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer, sessions: Sessions
) -> None:
    await sandbox_latency(sandbox, 300)
    user, ws = await funded_workspace(api, credits=100)
    configured = await api.put(
        f"/api/v1/workspaces/{ws}/billing",
        json={"auto_recharge": {"enabled": True, "threshold": 100, "amount": 1_000}},
        headers=user.headers,
    )
    assert configured.status_code == 200, configured.text
    per_record = ProviderCatalog().field_cost("hunter", "email")
    size = 99 // per_record
    for cycle in range(5):
        job = await create_job(
            api,
            user,
            ws,
            {"records": people(size, tag=f"mint{cycle}"), "fields": ["email"], "waterfall": {"email": ["hunter"]}},
        )
        cancel = await api.post(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}/cancel", headers=user.headers)
        assert cancel.status_code in (200, 409), cancel.text
        await wait_for_job(api, user, ws, job["id"], timeout=60)
    async with sessions() as s:
        rows = dict(
            (
                await s.execute(
                    text(
                        "SELECT type::text, coalesce(sum(amount), 0) FROM credit_transactions t"
                        " JOIN credit_accounts a USING (workspace_id) WHERE a.workspace_id = :ws GROUP BY type"
                    ),
                    {"ws": ws},
                )
            ).all()
        )
        recharges = (
            await s.execute(
                text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws AND type = 'auto_recharge'"),
                {"ws": ws},
            )
        ).scalar_one()
    spent = -int(rows.get("debit", 0))
    # A recharge is only legitimate if real spending took the balance below the threshold.
    assert recharges <= 1 if spent else recharges == 0, rows
    end = await balance(api, user, ws)
    assert (end["balance"], end["reserved"]) == (100 - spent + 1_000 * recharges, 0)
