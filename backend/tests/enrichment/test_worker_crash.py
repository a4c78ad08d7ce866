"""SIGKILL the worker process in the middle of a 5,000-record job; a new worker finishes it.

Every record is enriched once and the ledger holds exactly one debit per found (record, field):
balance == start - sum of costs, nothing left reserved.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from tests.enrichment.helpers import (
    all_records,
    balance,
    create_job,
    funded_workspace,
    ledger,
    people,
    wait_for_job,
    wait_for_progress,
)

WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"]}
TOTAL = int(os.environ.get("MORKET_TEST_CRASH_RECORDS", "5000"))


def worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "MORKET_ENV": "test",
            "JWT_SECRET": settings.jwt_secret,
            "ENCRYPTION_MASTER_KEY": settings.encryption_master_key,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            "PROVIDER_SANDBOX_URL": settings.provider_sandbox_url or "",
            "PROVIDER_RATE_LIMITS": '{"apollo": [[5000, 1]], "hunter": [[5000, 1]], "clearbit": [[5000, 1]]}',
            "LOG_LEVEL": os.environ.get("MORKET_TEST_WORKER_LOG_LEVEL", "WARNING"),
        }
    )
    return env


class WorkerProcess:
    def __init__(self, settings: Settings) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "morket.cli", "worker"], env=worker_env(settings), start_new_session=True
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_processes(enrichment_settings: Settings) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.mark.slow
async def test_sigkill_mid_job_charges_exactly_once(
    api: httpx.AsyncClient,
    enrichment_settings: Settings,
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
    worker_processes: list[WorkerProcess],
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": 5}})).status_code == 200
    user, ws = await funded_workspace(api, credits=1_000_000)
    start = await balance(api, user, ws)

    worker_processes.append(WorkerProcess(enrichment_settings))
    job = await create_job(
        api, user, ws, {"records": people(TOTAL, tag="kill"), "fields": list(WATERFALL), "waterfall": WATERFALL}
    )
    path = f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}"
    await wait_for_progress(api, user, ws, job["id"], 0.25, timeout=900)
    worker_processes[0].kill()
    at_kill = (await api.get(path, headers=user.headers)).json()["data"]
    assert at_kill["status"] == "running" and at_kill["counts"]["pending"] > 0, at_kill

    worker_processes.append(WorkerProcess(enrichment_settings))
    done = await wait_for_job(api, user, ws, job["id"], timeout=240)
    assert done["status"] in ("completed", "partially_completed"), done
    counts = done["counts"]
    assert counts["completed"] + counts["failed"] == TOTAL and counts["pending"] == 0

    async with sessions() as session:
        duplicate_calls = (
            await session.execute(
                text(
                    "SELECT count(*) FROM (SELECT record_id, field, provider FROM enrichment_attempts"
                    " WHERE job_id = :j GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
                ),
                {"j": job["id"]},
            )
        ).scalar_one()
        debit_keys = (
            await session.execute(
                text(
                    "SELECT count(*), count(DISTINCT idempotency_key), count(DISTINCT (record_id, description))"
                    " FROM credit_transactions WHERE job_id = :j AND type = 'debit'"
                ),
                {"j": job["id"]},
            )
        ).one()
    assert duplicate_calls == 0, "a record was enriched twice"
    assert debit_keys[0] == debit_keys[1] == debit_keys[2]

    records = await all_records(api, user, ws, job["id"])
    assert len(records) == TOTAL
    found_cells = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    debits, spent = await ledger(sessions, job["id"])
    assert debits == found_cells
    assert spent == sum(r["credits_spent"] for r in records) == done["credits"]["spent"]
    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    assert end["balance"] == start["balance"] - spent
