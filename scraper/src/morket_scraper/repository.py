"""The persisted queue: tasks and batch jobs in PostgreSQL (schema `scraper`), all SQL here.

The scraper owns its schema and creates it at start-up (idempotent DDL, versioned by
SCHEMA_VERSION), so it needs no migration in the API's alembic chain and can use its own database.
A task is claimed with FOR UPDATE SKIP LOCKED and a lease; a restart puts the tasks that were
running back in the queue, so nothing queued or running is lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from morket_scraper.models import JobProgress, JobStatus, ScrapeResult, TaskStatus

SCHEMA_VERSION = 2
_DDL = """
CREATE SCHEMA IF NOT EXISTS scraper;
CREATE TABLE IF NOT EXISTS scraper.jobs (
    id uuid PRIMARY KEY,
    status text NOT NULL,
    total integer NOT NULL,
    workspace_id uuid,
    webhook_url text,
    webhook_secret text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS scraper.tasks (
    id uuid PRIMARY KEY,
    job_id uuid REFERENCES scraper.jobs(id),
    url text NOT NULL,
    target_type text NOT NULL,
    mode text NOT NULL,
    priority integer NOT NULL DEFAULT 0,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    options jsonb NOT NULL DEFAULT '{}'::jsonb,
    result jsonb,
    error text,
    webhook_url text,
    webhook_secret text,
    lease_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS tasks_queue_idx ON scraper.tasks (priority DESC, created_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS tasks_job_idx ON scraper.tasks (job_id);
-- Version 2: webhook deliveries, written in the transaction that records what they announce.
CREATE TABLE IF NOT EXISTS scraper.webhook_deliveries (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL,
    event text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON scraper.webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
"""


@dataclass(frozen=True)
class NewDelivery:
    """A webhook to deliver: where, with which secret, which event, and the body as it will be sent."""

    url: str
    secret: str
    event: str
    body: str


_INSERT_DELIVERY = "INSERT INTO scraper.webhook_deliveries (id, url, secret, event, body) VALUES ($1, $2, $3, $4, $5)"


async def _add_delivery(conn: asyncpg.Connection, delivery: NewDelivery) -> None:
    await conn.execute(_INSERT_DELIVERY, uuid.uuid4(), delivery.url, delivery.secret, delivery.event, delivery.body)


async def create_schema(pool: asyncpg.Pool) -> None:
    # Two instances starting together must not race on CREATE ... IF NOT EXISTS.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7312001)")
        await conn.execute(_DDL)


class TaskRow:
    __slots__ = (
        "attempts",
        "created_at",
        "error",
        "finished_at",
        "id",
        "job_id",
        "mode",
        "options",
        "priority",
        "result",
        "started_at",
        "status",
        "target_type",
        "url",
        "webhook_secret",
        "webhook_url",
    )

    def __init__(self, record: asyncpg.Record) -> None:
        self.id: uuid.UUID = record["id"]
        self.job_id: uuid.UUID | None = record["job_id"]
        self.url: str = record["url"]
        self.target_type: str = record["target_type"]
        self.mode: str = record["mode"]
        self.priority: int = record["priority"]
        self.status = TaskStatus(record["status"])
        self.attempts: int = record["attempts"]
        options = record["options"]
        self.options: dict[str, Any] = json.loads(options) if isinstance(options, str) else dict(options or {})
        raw = record["result"]
        self.result: ScrapeResult | None = ScrapeResult.model_validate_json(raw) if raw else None
        self.error: str | None = record["error"]
        self.webhook_url: str | None = record["webhook_url"]
        self.webhook_secret: str | None = record["webhook_secret"]
        self.created_at: datetime = record["created_at"]
        self.started_at: datetime | None = record["started_at"]
        self.finished_at: datetime | None = record["finished_at"]


class TaskRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_tasks(self, tasks: Sequence[dict[str, Any]], job: dict[str, Any] | None = None) -> list[uuid.UUID]:
        """Insert a job (optional) and its tasks in one transaction: a batch is queued whole or not at all."""
        ids = [uuid.uuid4() for _ in tasks]
        async with self.pool.acquire() as conn, conn.transaction():
            if job is not None:
                await conn.execute(
                    "INSERT INTO scraper.jobs (id, status, total, workspace_id, webhook_url, webhook_secret)"
                    " VALUES ($1, $2, $3, $4, $5, $6)",
                    job["id"],
                    JobStatus.RUNNING.value,
                    len(tasks),
                    job.get("workspace_id"),
                    job.get("webhook_url"),
                    job.get("webhook_secret"),
                )
            await conn.executemany(
                "INSERT INTO scraper.tasks (id, job_id, url, target_type, mode, priority, status, options,"
                " webhook_url, webhook_secret) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7::jsonb, $8, $9)",
                [
                    (
                        task_id,
                        job["id"] if job else None,
                        t["url"],
                        t["target_type"],
                        t["mode"],
                        t["priority"],
                        json.dumps(t.get("options") or {}),
                        t.get("webhook_url"),
                        t.get("webhook_secret"),
                    )
                    for task_id, t in zip(ids, tasks, strict=True)
                ],
            )
        return ids

    async def claim(self, lease_seconds: float, *, browser_ok: bool = True) -> TaskRow | None:
        """The most urgent queued task (or one whose lease ran out), now running under a lease."""
        browser_filter = "" if browser_ok else " AND mode <> 'browser'"
        record = await self.pool.fetchrow(
            "UPDATE scraper.tasks SET status = 'running', attempts = attempts + 1, started_at = now(),"
            " lease_until = now() + make_interval(secs => $1)"
            " WHERE id = (SELECT id FROM scraper.tasks WHERE (status = 'queued'"
            " OR (status = 'running' AND lease_until < now()))"
            + browser_filter
            + " ORDER BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
            lease_seconds,
        )
        return TaskRow(record) if record else None

    async def requeue_running(self) -> int:
        """At start-up: tasks a previous process was running go back to the queue."""
        status = await self.pool.execute(
            "UPDATE scraper.tasks SET status = 'queued', lease_until = NULL WHERE status = 'running'"
        )
        return int(status.split()[-1])

    async def finish(
        self,
        task_id: uuid.UUID,
        status: TaskStatus,
        result: ScrapeResult | None,
        error: str | None,
        delivery: NewDelivery | None = None,
    ) -> bool:
        """Record the outcome unless the task was cancelled meanwhile; False when it was. Its
        webhook delivery is queued in the same transaction: no result without its callback."""
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.execute(
                "UPDATE scraper.tasks SET status = $2, result = $3::jsonb, error = $4, finished_at = now(),"
                " lease_until = NULL WHERE id = $1 AND status = 'running'",
                task_id,
                status.value,
                result.model_dump_json() if result else None,
                error,
            )
            recorded = str(done).endswith(" 1")
            if recorded and delivery is not None:
                await _add_delivery(conn, delivery)
        return recorded

    async def requeue(self, task_id: uuid.UUID) -> None:
        await self.pool.execute(
            "UPDATE scraper.tasks SET status = 'queued', lease_until = NULL WHERE id = $1 AND status = 'running'",
            task_id,
        )

    async def get(self, task_id: uuid.UUID) -> TaskRow | None:
        record = await self.pool.fetchrow("SELECT * FROM scraper.tasks WHERE id = $1", task_id)
        return TaskRow(record) if record else None

    async def depth(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT status, count(*) AS n FROM scraper.tasks WHERE status IN ('queued', 'running') GROUP BY status"
        )
        return {r["status"]: r["n"] for r in rows}

    # -- jobs ---------------------------------------------------------------------------------

    async def job(self, job_id: uuid.UUID) -> tuple[asyncpg.Record, JobProgress] | None:
        job = await self.pool.fetchrow("SELECT * FROM scraper.jobs WHERE id = $1", job_id)
        if job is None:
            return None
        rows = await self.pool.fetch(
            "SELECT status, count(*) AS n FROM scraper.tasks WHERE job_id = $1 GROUP BY status", job_id
        )
        counts = {r["status"]: r["n"] for r in rows}
        progress = JobProgress(total=job["total"], **{s.value: counts.get(s.value, 0) for s in TaskStatus})
        return job, progress

    async def job_results(self, job_id: uuid.UUID, limit: int, offset: int) -> tuple[list[TaskRow], int]:
        rows = await self.pool.fetch(
            "SELECT * FROM scraper.tasks WHERE job_id = $1 AND status IN ('completed', 'failed')"
            " ORDER BY finished_at, id LIMIT $2 OFFSET $3",
            job_id,
            limit,
            offset,
        )
        total = await self.pool.fetchval(
            "SELECT count(*) FROM scraper.tasks WHERE job_id = $1 AND status IN ('completed', 'failed')", job_id
        )
        return [TaskRow(r) for r in rows], int(total)

    async def cancel_job(self, job_id: uuid.UUID) -> int:
        """Cancel the job's queued tasks (running ones finish); returns how many were cancelled."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE scraper.tasks SET status = 'cancelled', finished_at = now()"
                " WHERE job_id = $1 AND status = 'queued'",
                job_id,
            )
            await conn.execute(
                "UPDATE scraper.jobs SET status = 'cancelled' WHERE id = $1 AND status = 'running'", job_id
            )
        return int(status.split()[-1])

    async def close_job_if_done(
        self, job_id: uuid.UUID, announce: Callable[[asyncpg.Record, JobProgress], NewDelivery | None]
    ) -> bool:
        """Mark the job finished once no task is queued or running, and queue the delivery
        `announce` makes of it, in one transaction; True only the first time (one webhook)."""
        async with self.pool.acquire() as conn, conn.transaction():
            job = await conn.fetchrow(
                "UPDATE scraper.jobs SET finished_at = now(),"
                " status = CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'completed' END"
                " WHERE id = $1 AND finished_at IS NULL AND NOT EXISTS ("
                " SELECT 1 FROM scraper.tasks WHERE job_id = $1 AND status IN ('queued', 'running')) RETURNING *",
                job_id,
            )
            if job is None:
                return False
            delivery = announce(job, await self._progress(conn, job))
            if delivery is not None:
                await _add_delivery(conn, delivery)
        return True

    async def _progress(self, conn: asyncpg.Connection, job: asyncpg.Record) -> JobProgress:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM scraper.tasks WHERE job_id = $1 GROUP BY status", job["id"]
        )
        counts = {r["status"]: r["n"] for r in rows}
        return JobProgress(total=job["total"], **{s.value: counts.get(s.value, 0) for s in TaskStatus})

    # -- webhook deliveries -------------------------------------------------------------------

    async def claim_delivery(self, lease_seconds: float) -> asyncpg.Record | None:
        """A delivery whose attempt is due (or whose last attempt's lease ran out), leased to us."""
        return await self.pool.fetchrow(
            "UPDATE scraper.webhook_deliveries SET lease_until = now() + make_interval(secs => $1)"
            " WHERE id = (SELECT id FROM scraper.webhook_deliveries WHERE status = 'pending'"
            " AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
            " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
            lease_seconds,
        )

    async def record_delivery(
        self,
        delivery_id: uuid.UUID,
        status: str,
        last_status: int | None,
        error: str | None,
        retry_in: float | None,
    ) -> None:
        """One attempt done: delivered, failed for good, or pending again in `retry_in` seconds."""
        await self.pool.execute(
            "UPDATE scraper.webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3,"
            " last_error = $4, lease_until = NULL,"
            " next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at"
            " ELSE now() + make_interval(secs => $5::float8) END,"
            " finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END WHERE id = $1",
            delivery_id,
            status,
            last_status,
            error,
            retry_in,
        )

    async def release_deliveries(self) -> int:
        """At start-up: attempts a previous process had in flight are due again (one process per database)."""
        status = await self.pool.execute(
            "UPDATE scraper.webhook_deliveries SET lease_until = NULL"
            " WHERE status = 'pending' AND lease_until IS NOT NULL"
        )
        return int(status.split()[-1])
