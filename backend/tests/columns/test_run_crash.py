"""SIGKILL the worker process in the middle of a column run; a new worker finishes it. Every row
is enriched once, every paid cell debited once, and the cells hold what the ledger paid for."""

from __future__ import annotations

import os

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from tests.columns.helpers import leads_table
from tests.enrichment.helpers import balance, funded_workspace, ledger, wait_for_job, wait_for_progress
from tests.enrichment.test_worker_crash import WorkerProcess, worker_processes  # noqa: F401

TOTAL = int(os.environ.get("MORKET_TEST_COLUMN_CRASH_ROWS", "1500"))


@pytest.mark.slow
async def test_sigkill_mid_column_run_charges_exactly_once(
    api: httpx.AsyncClient,
    enrichment_settings: Settings,
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
    worker_processes: list[WorkerProcess],  # noqa: F811
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": 5}})).status_code == 200
    user, ws = await funded_workspace(api, credits=1_000_000)
    leads = await leads_table(api, user, ws, TOTAL, tag="kcol")
    assert (await leads.add_column(leads.enrichment())).status_code == 201
    email = leads.col["Work email"]
    start = await balance(api, user, ws)

    worker_processes.append(WorkerProcess(enrichment_settings))
    run = await leads.run({"column_ids": [email]})
    job_id = run["runs"][0]["job"]["id"]
    await wait_for_progress(api, user, ws, job_id, 0.25, timeout=600)
    worker_processes[0].kill()
    at_kill = (await api.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}", headers=user.headers)).json()
    assert at_kill["data"]["status"] == "running" and at_kill["data"]["counts"]["pending"] > 0, at_kill

    worker_processes.append(WorkerProcess(enrichment_settings))
    job = await wait_for_job(api, user, ws, job_id, timeout=300)
    assert job["status"] in ("completed", "partially_completed"), job

    async with sessions() as session:
        duplicate_calls = (
            await session.execute(
                text(
                    "SELECT count(*) FROM (SELECT record_id, field, provider FROM enrichment_attempts"
                    " WHERE job_id = :j GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
                ),
                {"j": job_id},
            )
        ).scalar_one()
        history_twice = (
            await session.execute(
                text(
                    "SELECT count(*) FROM (SELECT row_id FROM cell_history WHERE table_id = :t AND column_id = :c"
                    " GROUP BY 1 HAVING count(*) > 1) d"
                ),
                {"t": leads.table["id"], "c": email},
            )
        ).scalar_one()
    assert duplicate_calls == 0, "a row was enriched twice"
    assert history_twice == 0, "a cell was written twice"

    rows = await leads.rows()
    assert len(rows) == TOTAL
    assert all(r["meta"][email]["state"] in ("done", "no_data", "error") for r in rows)
    paid = [r for r in rows if r["meta"][email]["state"] == "done" and r["meta"][email]["cost"] > 0]
    debits, spent = await ledger(sessions, job_id)
    assert debits == len(paid)
    assert spent == sum(r["meta"][email]["cost"] for r in paid) == job["credits"]["spent"]
    end = await balance(api, user, ws)
    assert end["reserved"] == 0 and end["balance"] == start["balance"] - spent
