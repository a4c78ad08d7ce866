"""Run bookkeeping for the worker: what a chunk activity reads and writes, and the settlement.

The audience is the Temporal activities (`enrichment/activities.py`) and the reconciler; each
call runs in the caller's unit of work. The job API is `enrichment/service.py`, the Temporal
control (start, signal) `enrichment/control.py`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.analytics.capture import AnalyticsCapture
from morket.columns import sink
from morket.core.config import Settings
from morket.core.errors import NotFound
from morket.credits.service import CreditService, DebitRequest
from morket.enrichment.catalog import ProviderCatalog
from morket.enrichment.repository import EnrichmentRepository, PendingRecord, RecordResult
from morket.enrichment.result import RecordAttempt
from morket.models import EnrichmentJob, JobStatus, RecordStatus
from morket.tables.service import RowService
from morket.webhooks.service import WebhookService, event_for_status


def row_input(cells: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    """A record's provider input read from its row: `keys` maps each record key to its column."""
    return {key: value for key, column in keys.items() if (value := cells.get(column)) is not None}


def job_kind(job: EnrichmentJob) -> str:
    """What analytics calls the job: an API enrichment job, or a table column's run (issue 10)."""
    # Inline API jobs also live in a table now (docs/enrichment.md); their target names the
    # record keys' columns under "inputs", which a column run's target never has.
    if job.table_id is None or "inputs" in (job.target or {}):
        return "enrichment"
    return "column_run"


def debit_key(job_id: uuid.UUID, record_id: uuid.UUID, field: str, provider: str) -> str:
    """One debit per (record, field): the ledger refuses a second one with the same key."""
    return f"{job_id}:{record_id}:{field}:{provider}"


@dataclass(frozen=True)
class Debit:
    record_id: uuid.UUID
    field: str
    provider: str
    amount: int


@dataclass(frozen=True)
class ChunkJob:
    """What a chunk activity needs to know about its job."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    fields: list[str]
    waterfall: dict[str, list[str]]
    cancel_requested: bool
    final: bool
    # issue 10: a column run writes its results into this table (see morket/columns/sink.py).
    table_id: uuid.UUID | None = None
    target: dict[str, Any] | None = None
    budget: int | None = None
    worst_per_record: int = 0


@dataclass(frozen=True)
class Settlement:
    status: str
    delivery_ids: list[uuid.UUID]


class JobRunService:
    """The worker's side of a job: begin, chunks (records, budget, cancel flag, batches), settle."""

    def __init__(self, session: AsyncSession, settings: Settings, catalog: ProviderCatalog | None = None) -> None:
        self.session = session
        self.settings = settings
        self.repo = EnrichmentRepository(session)
        self.catalog = catalog or ProviderCatalog()

    async def begin(self, job_id: uuid.UUID) -> None:
        job = await self.repo.mark_running(job_id)
        if job is not None:
            await AnalyticsCapture(self.session).job_status(job, job_kind(job), created_at=job.created_at)

    async def chunk_job(self, job_id: uuid.UUID) -> ChunkJob | None:
        job = await self.repo.get_job_by_id(job_id)
        if job is None:
            return None
        return ChunkJob(
            id=job.id,
            workspace_id=job.workspace_id,
            fields=list(job.fields),
            waterfall={k: list(v) for k, v in job.waterfall.items()},
            cancel_requested=job.cancel_requested_at is not None,
            final=JobStatus(job.status).is_final,
            table_id=job.table_id,
            target=job.target,
            budget=job.budget,
            worst_per_record=self.catalog.worst_case(1, list(job.fields), dict(job.waterfall))
            if job.budget is not None
            else 0,
        )

    async def cancel_requested(self, job_id: uuid.UUID) -> bool:
        return await self.repo.cancel_requested(job_id)

    async def budget_left(self, job_id: uuid.UUID, budget: int) -> int:
        """issue 10: what a budgeted run may still spend (records written carry their debits)."""
        return budget - await self.repo.credits_spent(job_id)

    async def mark_budget_reached(self, job_id: uuid.UUID) -> None:
        job = await self.repo.get_job_by_id(job_id, for_update=True)
        if job is not None and job.budget_reached_at is None:
            job.budget_reached_at = datetime.now(UTC)
            await self.session.flush()

    async def pending_records(self, job_id: uuid.UUID, start_seq: int, end_seq: int) -> list[PendingRecord]:
        return await self.repo.pending_records(job_id, start_seq, end_seq)

    async def with_row_inputs(self, job: ChunkJob, records: list[PendingRecord]) -> list[PendingRecord]:
        """Records without an input of their own (an inline job) take it from their row: the
        input columns' cells as they are now (`target["inputs"]`: record key -> column). A row or
        table deleted since gives an empty input (every provider then answers "cannot use")."""
        keys = (job.target or {}).get("inputs")
        missing = [r.row_id for r in records if r.input is None and r.row_id is not None]
        if not missing or job.table_id is None or not keys:
            return records
        cells: dict[int, dict[str, Any]] = {}
        with contextlib.suppress(NotFound):  # the table was deleted since
            found = await RowService(self.session).get_rows(job.workspace_id, job.table_id, missing)
            cells = {row.id: row.cells for row in found}
        return [
            r
            if r.input is not None
            else replace(r, input=row_input(cells.get(r.row_id, {}) if r.row_id is not None else {}, keys))
            for r in records
        ]

    async def save_batch(
        self,
        job: ChunkJob,
        results: Sequence[RecordResult],
        attempts: Sequence[RecordAttempt],
        debits: Sequence[Debit],
    ) -> int:
        """Write finished records, their attempts and their debits in one transaction.

        Records that are no longer pending (another execution of this chunk got there first) are
        skipped whole; debits are idempotent by key anyway. Returns the number of records written.
        """
        pending = await self.repo.lock_pending([r.record_id for r in results])
        if not pending:
            return 0
        keep_results = [r for r in results if r.record_id in pending]
        keep_attempts = [(record_id, a) for record_id, a in attempts if record_id in pending]
        keep_debits = [d for d in debits if d.record_id in pending]
        await self.repo.save_results(job.id, keep_results, keep_attempts)
        capture = AnalyticsCapture(self.session)
        await capture.enrichment_attempts(job.workspace_id, job.id, keep_attempts)
        await capture.scrape_tasks(job.workspace_id, job.id, keep_attempts)
        await CreditService(self.session).debit_many(
            job.workspace_id,
            job.id,
            [
                DebitRequest(
                    amount=d.amount,
                    idempotency_key=debit_key(job.id, d.record_id, d.field, d.provider),
                    record_id=d.record_id,
                    description=f"{d.provider} {d.field}",
                    field=d.field,
                )
                for d in keep_debits
            ],
        )
        if job.table_id is not None and job.target is not None:
            # issue 10: the cells, with the debits that paid for them, in this transaction.
            await sink.write_results(self.session, job.id, job.workspace_id, job.table_id, job.target, keep_results)
        return len(keep_results)

    async def settle(self, job_id: uuid.UUID, *, cancelled: bool, error: str | None) -> Settlement:
        """Final status, counts and credits; release what is left of the reservation; queue webhooks."""
        job = await self.repo.get_job_by_id(job_id, for_update=True)
        if job is None:
            return Settlement("missing", [])
        webhooks = WebhookService(self.session, self.settings)
        if JobStatus(job.status).is_final:
            deliveries = await webhooks.enqueue_job_event(
                job.workspace_id, job.id, event_for_status(job.status), _event_payload(job)
            )
            return Settlement(job.status, deliveries)
        cancelled = cancelled or job.cancel_requested_at is not None
        # issue 10: a chunk stopped at the run's budget (not a user's cancel).
        budget_stop = job.budget_reached_at is not None and job.cancel_requested_at is None
        if cancelled:
            await self.repo.cancel_pending(job.id)
        elif error is not None:
            await self.repo.fail_pending(job.id, error)
        counts = await self.repo.status_counts(job.id)
        completed = counts.get(RecordStatus.COMPLETED.value, 0)
        failed = counts.get(RecordStatus.FAILED.value, 0)
        cancelled_count = counts.get(RecordStatus.CANCELLED.value, 0)
        pending = counts.get(RecordStatus.PENDING.value, 0)
        if pending:
            # Cannot happen when every chunk ran; never leave a job half-open if it does.
            failed += await self.repo.fail_pending(job.id, "the record was not processed")
        if budget_stop:
            status = JobStatus.BUDGET_REACHED
        elif cancelled:
            status = JobStatus.CANCELLED
        elif failed == 0:
            status = JobStatus.COMPLETED
        elif completed == 0:
            status = JobStatus.FAILED
        else:
            status = JobStatus.PARTIALLY_COMPLETED
        if job.table_id is not None and job.target is not None:
            # issue 10: rows the run never reached show cancelled or the error.
            await sink.settle_cells(
                self.session, job.id, job.workspace_id, job.table_id, job.target, budget_reached=budget_stop
            )
        await CreditService(self.session).release(job.workspace_id, job.id)
        job.status = status
        job.completed_count = completed
        job.failed_count = failed
        job.cancelled_count = cancelled_count
        job.credits_spent = await self.repo.credits_spent(job.id)
        job.error = error
        job.finished_at = datetime.now(UTC)
        if job.started_at is None:
            job.started_at = job.finished_at
        await self.session.flush()
        await AnalyticsCapture(self.session).job_status(job, job_kind(job), created_at=job.created_at)
        payload = _event_payload(job)
        deliveries = await webhooks.enqueue_job_event(job.workspace_id, job.id, event_for_status(job.status), payload)
        return Settlement(job.status, deliveries)

    async def unsettled_jobs(self, cutoff: datetime) -> list[EnrichmentJob]:
        """Jobs still open that were created before `cutoff`: the reconciler checks each against its workflow."""
        return list(await self.repo.unsettled_jobs_older_than(cutoff))


def _event_payload(job: EnrichmentJob) -> dict[str, Any]:
    return {
        "job_id": str(job.id),
        "workspace_id": str(job.workspace_id),
        "status": job.status,
        "record_count": job.record_count,
        "counts": {
            "completed": job.completed_count,
            "failed": job.failed_count,
            "cancelled": job.cancelled_count,
        },
        "credits": {"estimated": job.credits_estimated, "spent": job.credits_spent},
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
