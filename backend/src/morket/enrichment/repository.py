"""Every SQL statement of the enrichment module.

Bulk paths (records on job creation, results and attempts from chunk activities) go straight to
asyncpg inside the session's transaction: COPY for inserts, pipelined executemany for updates.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from morket.enrichment.result import FieldOutcome, RecordAttempt
from morket.models import EnrichmentAttempt, EnrichmentJob, EnrichmentRecord, JobStatus, RecordStatus

BATCH_SIZE = 1000
COPY_SLICE = 500


@dataclass(frozen=True)
class PendingRecord:
    id: uuid.UUID
    seq: int
    # None: the input is the record's row, read when its chunk runs (an inline job, docs/enrichment.md).
    input: dict[str, Any] | None
    row_id: int | None = None  # issue 10: the table row of a column run


@dataclass(frozen=True)
class RecordResult:
    """A finished record: its status and bookkeeping are stored on the record, its fields
    (`FieldOutcome`, value and provenance) in the cells of its row (`columns/sink.py`)."""

    record_id: uuid.UUID
    status: str
    fields: dict[str, FieldOutcome]
    credits_spent: int
    error: str | None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


RecordRow = tuple[uuid.UUID, uuid.UUID, uuid.UUID, int, int, str | None, str, int, int | None]


def record_rows(
    job_id: uuid.UUID,
    workspace_id: uuid.UUID,
    inputs: Sequence[dict[str, Any]] | None,
    row_ids: Sequence[int] | None = None,
) -> list[RecordRow]:
    """The COPY rows of a job's records: pure and blocking (JSON encoding of every input).
    `row_ids` (a table job, issue 10) names the table row of each record; without `inputs` the
    records hold no input of their own (an inline job: the row is the input)."""
    count = len(inputs) if inputs is not None else len(row_ids or ())
    return [
        (
            uuid.uuid4(),
            job_id,
            workspace_id,
            seq,
            seq // BATCH_SIZE,
            None if inputs is None else _dumps(inputs[seq]),
            RecordStatus.PENDING.value,
            0,
            None if row_ids is None else row_ids[seq],
        )
        for seq in range(count)
    ]


class EnrichmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _driver(self) -> Any:
        """The asyncpg connection under the session, inside the session's transaction."""
        conn = await self.session.connection()
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, on the first statement it runs
        # itself. Run one, or the raw statements below would run in autocommit, outside the unit of work.
        await conn.exec_driver_sql("SELECT 1")
        raw = await conn.get_raw_connection()
        return raw.driver_connection

    # jobs -------------------------------------------------------------------------------

    async def add_job(self, job: EnrichmentJob) -> EnrichmentJob:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get_job(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> EnrichmentJob | None:
        stmt = select(EnrichmentJob).where(EnrichmentJob.id == job_id, EnrichmentJob.workspace_id == workspace_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_job_by_id(self, job_id: uuid.UUID, *, for_update: bool = False) -> EnrichmentJob | None:
        stmt = select(EnrichmentJob).where(EnrichmentJob.id == job_id)
        if for_update:
            # The row may already be in the session (read before the lock): without
            # populate_existing the locked read would hand back that stale object, and a cancel
            # racing the finalize would overwrite the final status with what it read before.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_jobs(
        self, workspace_id: uuid.UUID, status: str | None, offset: int, limit: int
    ) -> tuple[Sequence[EnrichmentJob], int]:
        where = [EnrichmentJob.workspace_id == workspace_id]
        if status is not None:
            where.append(EnrichmentJob.status == status)
        total = (await self.session.execute(select(func.count()).select_from(EnrichmentJob).where(*where))).scalar_one()
        stmt = (
            select(EnrichmentJob)
            .where(*where)
            .order_by(EnrichmentJob.created_at.desc(), EnrichmentJob.id)
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all(), int(total)

    async def cancel_requested(self, job_id: uuid.UUID) -> bool:
        stmt = select(EnrichmentJob.cancel_requested_at).where(EnrichmentJob.id == job_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def mark_running(self, job_id: uuid.UUID) -> EnrichmentJob | None:
        """Queued -> running; the job when this call made the change (None when it was not queued)."""
        result = await self.session.execute(
            update(EnrichmentJob)
            .where(EnrichmentJob.id == job_id, EnrichmentJob.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=func.now())
            .returning(EnrichmentJob)
        )
        return result.scalar_one_or_none()

    async def unsettled_jobs_older_than(self, cutoff: datetime, limit: int = 500) -> Sequence[EnrichmentJob]:
        """Jobs not in a final status, created before `cutoff`, oldest first."""
        final = [s.value for s in JobStatus if s.is_final]
        stmt = (
            select(EnrichmentJob)
            .where(EnrichmentJob.status.not_in(final), EnrichmentJob.created_at < cutoff)
            .order_by(EnrichmentJob.created_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # records ----------------------------------------------------------------------------

    async def insert_records(self, job_id: uuid.UUID, workspace_id: uuid.UUID, inputs: Sequence[dict[str, Any]]) -> int:
        """COPY the job's records in (seq 0..n-1, batches of 1,000): 100k rows in seconds."""
        return await self.copy_records(record_rows(job_id, workspace_id, inputs))

    async def copy_records(self, rows: list[RecordRow]) -> int:
        """COPY rows made by `record_rows` (made in a thread for a large job).

        The driver encodes rows on the event loop; fed all at once, 100,000 rows hold the loop
        for the whole encoding. Fed as an async iterable that yields to the loop every
        COPY_SLICE rows, other requests are served in between.
        """

        async def sliced() -> AsyncIterator[RecordRow]:
            for index, row in enumerate(rows):
                if index and index % COPY_SLICE == 0:
                    await asyncio.sleep(0)
                yield row

        driver = await self._driver()
        await driver.copy_records_to_table(
            "enrichment_records",
            records=sliced(),
            columns=["id", "job_id", "workspace_id", "seq", "batch_no", "input", "status", "credits_spent", "row_id"],
        )
        return len(rows)

    async def status_counts(self, job_id: uuid.UUID) -> dict[str, int]:
        stmt = (
            select(EnrichmentRecord.status, func.count())
            .where(EnrichmentRecord.job_id == job_id)
            .group_by(EnrichmentRecord.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def credits_spent(self, job_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.sum(EnrichmentRecord.credits_spent), 0)).where(
            EnrichmentRecord.job_id == job_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def list_records(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, status: str | None, offset: int, limit: int
    ) -> tuple[Sequence[EnrichmentRecord], int]:
        where = [EnrichmentRecord.job_id == job_id, EnrichmentRecord.workspace_id == workspace_id]
        if status is not None:
            where.append(EnrichmentRecord.status == status)
        total = (
            await self.session.execute(select(func.count()).select_from(EnrichmentRecord).where(*where))
        ).scalar_one()
        stmt = select(EnrichmentRecord).where(*where).order_by(EnrichmentRecord.seq).offset(offset).limit(limit)
        return (await self.session.execute(stmt)).scalars().all(), int(total)

    async def get_record(self, workspace_id: uuid.UUID, record_id: uuid.UUID) -> EnrichmentRecord | None:
        stmt = select(EnrichmentRecord).where(
            EnrichmentRecord.id == record_id, EnrichmentRecord.workspace_id == workspace_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def attempts_of(self, record_id: uuid.UUID) -> Sequence[EnrichmentAttempt]:
        stmt = select(EnrichmentAttempt).where(EnrichmentAttempt.record_id == record_id).order_by(EnrichmentAttempt.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def attempts_of_records(self, record_ids: Sequence[uuid.UUID]) -> Sequence[EnrichmentAttempt]:
        if not record_ids:
            return []
        stmt = (
            select(EnrichmentAttempt)
            .where(EnrichmentAttempt.record_id.in_(list(record_ids)))
            .order_by(EnrichmentAttempt.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def pending_records(self, job_id: uuid.UUID, start_seq: int, end_seq: int) -> list[PendingRecord]:
        driver = await self._driver()
        rows = await driver.fetch(
            "SELECT id, seq, input, row_id FROM enrichment_records"
            " WHERE job_id = $1 AND seq >= $2 AND seq < $3 AND status = 'pending' ORDER BY seq",
            job_id,
            start_seq,
            end_seq,
        )
        return [
            PendingRecord(
                id=r["id"],
                seq=r["seq"],
                input=None if r["input"] is None else cast(dict[str, Any], _loads(r["input"])),
                row_id=r["row_id"],
            )
            for r in rows
        ]

    async def lock_pending(self, record_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Lock the records of a result batch that are still pending (another run may have won)."""
        driver = await self._driver()
        rows = await driver.fetch(
            "SELECT id FROM enrichment_records WHERE id = ANY($1::uuid[]) AND status = 'pending' FOR UPDATE",
            list(record_ids),
        )
        return {r["id"] for r in rows}

    async def save_results(
        self, job_id: uuid.UUID, results: Sequence[RecordResult], attempts: Sequence[RecordAttempt]
    ) -> None:
        driver = await self._driver()
        if attempts:
            await driver.copy_records_to_table(
                "enrichment_attempts",
                records=[
                    (
                        record_id,
                        job_id,
                        a.field,
                        a.provider,
                        a.outcome,
                        a.cost,
                        a.cached,
                        None if a.raw is None else _dumps(a.raw),
                        a.error,
                        a.duration_ms,
                    )
                    for record_id, a in attempts
                ],
                columns=[
                    "record_id",
                    "job_id",
                    "field",
                    "provider",
                    "outcome",
                    "cost",
                    "cached",
                    "raw",
                    "error",
                    "duration_ms",
                ],
            )
        if results:
            await driver.executemany(
                "UPDATE enrichment_records SET status = $2, credits_spent = $3, error = $4, finished_at = now()"
                " WHERE id = $1",
                [(r.record_id, r.status, r.credits_spent, r.error) for r in results],
            )

    async def cancel_pending(self, job_id: uuid.UUID) -> int:
        driver = await self._driver()
        status = await driver.execute(
            "UPDATE enrichment_records SET status = 'cancelled', finished_at = now()"
            " WHERE job_id = $1 AND status = 'pending'",
            job_id,
        )
        return int(str(status).split()[-1])

    async def fail_pending(self, job_id: uuid.UUID, error: str) -> int:
        driver = await self._driver()
        status = await driver.execute(
            "UPDATE enrichment_records SET status = 'failed', error = $2, finished_at = now()"
            " WHERE job_id = $1 AND status = 'pending'",
            job_id,
            error,
        )
        return int(str(status).split()[-1])


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
