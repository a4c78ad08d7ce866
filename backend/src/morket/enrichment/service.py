"""Enrichment jobs, the API's side: validation, cost estimate and reservation, storage, progress,
records, cancel requests.

The API creates a job (flush only; the request's session commits), and the workflow starts after
the commit (`core.db.after_commit` -> `enrichment/control.py`). The worker's bookkeeping (chunks,
batches, settlement) is `enrichment/runs.py`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from morket.analytics.capture import AnalyticsCapture
from morket.columns import sink
from morket.core.config import Settings
from morket.core.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from morket.credits.service import CreditService
from morket.enrichment.catalog import ProviderCatalog
from morket.enrichment.control import JobControl
from morket.enrichment.inline_table import InlineTableBuilder
from morket.enrichment.repository import BATCH_SIZE, EnrichmentRepository, record_rows
from morket.enrichment.result import FieldOutcome, FieldStatus
from morket.enrichment.runs import ChunkJob, Debit, JobRunService, Settlement, debit_key, job_kind, row_input
from morket.enrichment.schemas import (
    AttemptOut,
    EnrichmentJobCreate,
    EnrichmentJobOut,
    EnrichmentRecordDetail,
    EnrichmentRecordOut,
    FieldResult,
    JobCounts,
    JobCredits,
)
from morket.enrichment.workflows import JobWorkflowInput, workflow_id_for
from morket.models import EnrichmentAttempt, EnrichmentJob, EnrichmentRecord, JobStatus, RecordStatus
from morket.providers import registry
from morket.tables.schemas import RowOut
from morket.tables.service import RowService

# Names of the worker's side, importable from here as before the split.
__all__ = ["ChunkJob", "Debit", "EnrichmentService", "JobRunService", "Settlement", "TableJobSpec", "debit_key"]

log = logging.getLogger("morket.enrichment")


@dataclass(frozen=True)
class TableJobSpec:
    """issue 10: a column run over table rows (morket/columns/service.py builds it)."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID | None
    table_id: uuid.UUID
    label: str
    fields: list[str]
    waterfall: dict[str, list[str]]
    inputs: list[dict[str, Any]]
    row_ids: list[int]
    target: dict[str, Any]
    budget: int | None = None


class EnrichmentService:
    def __init__(self, session: AsyncSession, settings: Settings, catalog: ProviderCatalog | None = None) -> None:
        self.session = session
        self.settings = settings
        self.repo = EnrichmentRepository(session)
        self.catalog = catalog or ProviderCatalog()

    # -- creating and starting ----------------------------------------------------------------

    def plan(self, body: EnrichmentJobCreate) -> tuple[list[str], dict[str, list[str]]]:
        """The fields and the waterfall to run (a field without an explicit waterfall gets the default)."""
        fields = list(body.fields)
        given = body.waterfall or {}
        waterfall: dict[str, list[str]] = {}
        for name in fields:
            if name in given:
                waterfall[name] = list(given[name])
            else:
                try:
                    waterfall[name] = self.catalog.default_waterfall(name)
                except KeyError:
                    waterfall[name] = []
        for name, chain in given.items():
            waterfall.setdefault(name, list(chain))
        return fields, waterfall

    def estimate(self, record_count: int, fields: Sequence[str], waterfall: dict[str, list[str]]) -> int:
        """Worst case: every record charged the dearest provider of every field."""
        return self.catalog.worst_case(record_count, fields, waterfall)

    async def create_job(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID | None, body: EnrichmentJobCreate
    ) -> EnrichmentJob:
        fields, waterfall = self.plan(body)
        problems = self.catalog.validate_plan(fields, waterfall)
        if not problems:
            # A pure loop over up to 100,000 records: in a thread, so the event loop keeps serving.
            problems = await anyio.to_thread.run_sync(self.catalog.validate_records, body.records, fields, waterfall)
        if problems:
            raise Unprocessable(
                "The enrichment request cannot be run.",
                code="invalid_enrichment_request",
                details=[p.as_dict() for p in problems],
            )
        record_count = len(body.records)
        estimate = self.estimate(record_count, fields, waterfall)
        job_id = uuid.uuid4()
        credits = CreditService(self.session)
        account = await credits.account(workspace_id)
        if estimate > account.available:
            raise PaymentRequired(
                f"This job may cost up to {estimate} credits; {account.available} are available.",
                code="insufficient_credits",
                details={"estimated": estimate, "available": account.available},
            )
        options = body.options.model_dump(exclude_none=True) if body.options else {}
        # issue 10, item 3: the records become rows of a table (docs/enrichment.md).
        inline = await InlineTableBuilder(self.session).build(
            workspace_id,
            user_id,
            table_id=body.table_id,
            name=_table_name(options.get("label"), job_id),
            records=body.records,
            fields=fields,
            waterfall=waterfall,
        )
        job = EnrichmentJob(
            id=job_id,
            workspace_id=workspace_id,
            created_by=user_id,
            status=JobStatus.QUEUED,
            fields=fields,
            waterfall=waterfall,
            options=options,
            record_count=record_count,
            batch_count=math.ceil(record_count / BATCH_SIZE),
            credits_estimated=estimate,
            credits_reserved=estimate,
            credits_spent=0,
            workflow_id=workflow_id_for(str(job_id)),
            table_id=inline.table_id,
            target=inline.target,
        )
        await self.repo.add_job(job)
        await AnalyticsCapture(self.session).job_status(job, job_kind(job))
        # The records are the table's rows: they keep no input of their own (the chunk reads the row).
        rows = await anyio.to_thread.run_sync(record_rows, job.id, workspace_id, None, inline.row_ids)
        await self.repo.copy_records(rows)
        if estimate > 0:
            try:
                await credits.reserve(workspace_id, job.id, estimate, idempotency_key=f"job:{job.id}:reserve")
            except PaymentRequired as exc:  # the balance moved between the check and the lock
                raise PaymentRequired(
                    exc.message, code=exc.code, details={"estimated": estimate, **(exc.details or {})}
                ) from None
        await sink.set_states(
            self.session,
            workspace_id,
            inline.table_id,
            inline.target,
            inline.row_ids,
            lambda: sink.state("queued", job_id),
        )
        return job

    async def create_table_job(self, spec: TableJobSpec) -> EnrichmentJob:
        """issue 10: a column run as a job whose records are table rows (validated by the caller).
        Same estimate, 402 and reservation as an inline job; each record names its row."""
        estimate = self.estimate(len(spec.inputs), spec.fields, spec.waterfall)
        reserve = estimate if spec.budget is None else min(estimate, spec.budget)
        credits = CreditService(self.session)
        account = await credits.account(spec.workspace_id)
        if reserve > account.available:
            raise PaymentRequired(
                f"This run may cost up to {reserve} credits; {account.available} are available.",
                code="insufficient_credits",
                details={"estimated": estimate, "budget": spec.budget, "available": account.available},
            )
        job_id = uuid.uuid4()
        job = EnrichmentJob(
            id=job_id,
            workspace_id=spec.workspace_id,
            created_by=spec.user_id,
            status=JobStatus.QUEUED,
            fields=list(spec.fields),
            waterfall={k: list(v) for k, v in spec.waterfall.items()},
            options={"label": spec.label},
            record_count=len(spec.inputs),
            batch_count=math.ceil(len(spec.inputs) / BATCH_SIZE),
            credits_estimated=estimate,
            credits_reserved=reserve,
            credits_spent=0,
            workflow_id=workflow_id_for(str(job_id)),
            table_id=spec.table_id,
            target=dict(spec.target),
            budget=spec.budget,
        )
        await self.repo.add_job(job)
        await AnalyticsCapture(self.session).job_status(job, job_kind(job))
        rows = await anyio.to_thread.run_sync(record_rows, job.id, spec.workspace_id, spec.inputs, spec.row_ids)
        await self.repo.copy_records(rows)
        if reserve > 0:
            await credits.reserve(spec.workspace_id, job.id, reserve, idempotency_key=f"job:{job.id}:reserve")
        return job

    async def create_table_jobs(self, specs: Sequence[TableJobSpec]) -> list[EnrichmentJob]:
        """Jobs for several column runs started together: the job of each spec, in order.

        Specs over the same rows with the same write policy and no budget share one job
        (`merge_specs`): one record per row asks every field, so a provider call that answers
        several fields (Clearbit: company_name and industry) is made once for the row, and the
        row is read, locked and written once per batch instead of once per column."""
        jobs: list[EnrichmentJob | None] = [None] * len(specs)
        for merged, members in merge_specs(specs):
            job = await self.create_table_job(merged)
            for index in members:
                jobs[index] = job
        return [job for job in jobs if job is not None]

    # Temporal control lives in enrichment/control.py; these stay for the callers written against them.
    def workflow_input(self, job: EnrichmentJob) -> JobWorkflowInput:
        return JobControl(self.settings).workflow_input(job)

    async def start_workflow(self, client: Client, job: EnrichmentJob) -> None:
        await JobControl(self.settings).start_workflow(client, job)

    # -- reading --------------------------------------------------------------------------------

    async def _job(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> EnrichmentJob:
        job = await self.repo.get_job(workspace_id, job_id)
        if job is None:
            raise NotFound("Enrichment job not found.")
        return job

    async def job_out(self, job: EnrichmentJob) -> EnrichmentJobOut:
        if JobStatus(job.status).is_final:
            completed, failed, cancelled = job.completed_count, job.failed_count, job.cancelled_count
            spent = job.credits_spent
        else:
            counts = await self.repo.status_counts(job.id)
            completed = counts.get(RecordStatus.COMPLETED.value, 0)
            failed = counts.get(RecordStatus.FAILED.value, 0)
            cancelled = counts.get(RecordStatus.CANCELLED.value, 0)
            spent = await self.repo.credits_spent(job.id)
        done = completed + failed + cancelled
        return EnrichmentJobOut(
            id=job.id,
            workspace_id=job.workspace_id,
            status=job.status,
            fields=list(job.fields),
            waterfall=dict(job.waterfall),
            options=dict(job.options),
            record_count=job.record_count,
            batch_count=job.batch_count,
            counts=JobCounts(
                total=job.record_count,
                pending=job.record_count - done,
                completed=completed,
                failed=failed,
                cancelled=cancelled,
            ),
            progress=round(done / job.record_count, 4) if job.record_count else 1.0,
            credits=JobCredits(
                estimated=job.credits_estimated,
                reserved=job.credits_reserved,
                spent=spent,
                settled=JobStatus(job.status).is_final,
            ),
            workflow_id=job.workflow_id,
            table_id=job.table_id,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            cancel_requested_at=job.cancel_requested_at,
        )

    async def get(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> EnrichmentJobOut:
        return await self.job_out(await self._job(workspace_id, job_id))

    async def list_jobs(
        self, workspace_id: uuid.UUID, status: str | None, page: int, limit: int
    ) -> tuple[list[EnrichmentJobOut], int]:
        jobs, total = await self.repo.list_jobs(workspace_id, status, (page - 1) * limit, limit)
        return [await self.job_out(job) for job in jobs], total

    async def records(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, status: str | None, page: int, limit: int
    ) -> tuple[list[EnrichmentRecordOut], int]:
        job = await self._job(workspace_id, job_id)
        rows, total = await self.repo.list_records(workspace_id, job_id, status, (page - 1) * limit, limit)
        return await self._records_out(job, rows), total

    async def record(self, workspace_id: uuid.UUID, record_id: uuid.UUID) -> EnrichmentRecordDetail:
        row = await self.repo.get_record(workspace_id, record_id)
        if row is None:
            raise NotFound("Enrichment record not found.")
        job = await self._job(workspace_id, row.job_id)
        attempts = [AttemptOut.model_validate(a, from_attributes=True) for a in await self.repo.attempts_of(row.id)]
        (out,) = await self._records_out(job, [row])
        return EnrichmentRecordDetail(**out.model_dump(), attempts=attempts)

    async def _records_out(self, job: EnrichmentJob, rows: Sequence[EnrichmentRecord]) -> list[EnrichmentRecordOut]:
        """issue 10, item 3: a record is a row of the job's table. Its input (an inline job), its
        output and its per-field results are read from the row's cells and their provenance (the
        one store: edits made in the grid show here); status, credits and attempts are the job's
        bookkeeping. A cell a later run wrote over, or a row or table deleted since, answers
        from the job's attempts (docs/enrichment.md)."""
        stored: dict[int, RowOut] = {}
        if job.table_id is not None:
            ids = [r.row_id for r in rows if r.row_id is not None]
            with contextlib.suppress(NotFound):  # the table was deleted since
                found = await RowService(self.session).get_rows(job.workspace_id, job.table_id, ids)
                stored = {row.id: row for row in found}
        finished = [r for r in rows if r.status in (RecordStatus.COMPLETED, RecordStatus.FAILED)]
        attempts: dict[uuid.UUID, list[EnrichmentAttempt]] = {}
        for attempt in await self.repo.attempts_of_records([r.id for r in finished]):
            attempts.setdefault(attempt.record_id, []).append(attempt)
        return [
            _record_out(job, row, stored.get(row.row_id) if row.row_id is not None else None, attempts.get(row.id, []))
            for row in rows
        ]

    # -- cancelling -----------------------------------------------------------------------------

    async def request_cancel(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> EnrichmentJob:
        job = await self._job(workspace_id, job_id)
        locked = await self.repo.get_job_by_id(job.id, for_update=True)
        assert locked is not None
        if JobStatus(locked.status).is_final:
            raise Conflict(f"The job is already {locked.status}.", code="job_finished")
        if locked.cancel_requested_at is None:
            locked.cancel_requested_at = datetime.now(UTC)
            locked.status = JobStatus.CANCELLING
            await self.session.flush()
        return locked

    async def signal_cancel(self, client: Client, job: EnrichmentJob) -> None:
        await JobControl(self.settings).signal_cancel(client, job)

    async def settle(self, job_id: uuid.UUID, *, cancelled: bool, error: str | None) -> Settlement:
        """The worker's settlement (enrichment/runs.py), for callers written against this class."""
        return await JobRunService(self.session, self.settings, self.catalog).settle(
            job_id, cancelled=cancelled, error=error
        )


def _table_name(label: str | None, job_id: uuid.UUID) -> str:
    """The new table of an inline job: its label, or "Enrichment job <id>" (a blank label too)."""
    cleaned = (label or "").replace("\x00", "").strip()[:200]
    return cleaned or f"Enrichment job {job_id}"


def _mergeable(a: TableJobSpec, b: TableJobSpec) -> bool:
    if (a.table_id, a.row_ids, a.target["write_policy"]) != (b.table_id, b.row_ids, b.target["write_policy"]):
        return False
    if a.budget is not None or b.budget is not None:  # a budget is per column run
        return False
    if set(a.fields) & set(b.fields) or set(a.target["columns"].values()) & set(b.target["columns"].values()):
        return False
    # Neither column's providers may see an input the other brings (it could change their answer).
    a_keys = {k for record in a.inputs for k in record}
    b_keys = {k for record in b.inputs for k in record}
    if (b_keys - a_keys) & _reads(a) or (a_keys - b_keys) & _reads(b):
        return False
    # The same provider input key must mean the same value on every row.
    return all(x[k] == y[k] for x, y in zip(a.inputs, b.inputs, strict=True) for k in x.keys() & y.keys())


def _reads(spec: TableJobSpec) -> set[str]:
    """Every input key some provider of the spec's waterfalls can use."""
    return {
        key
        for name in spec.fields
        for slug in spec.waterfall.get(name, [])
        for alternative in registry.required_inputs(slug, name).alternatives
        for key in alternative
    }


def merge_specs(specs: Sequence[TableJobSpec]) -> list[tuple[TableJobSpec, list[int]]]:
    """Column runs that can be one job (same table, same rows in the same order, same write
    policy, no budget, different fields and columns, agreeing inputs, and no input of one that a
    provider of the other would read), each with the indexes of the specs it stands for. Pure;
    order kept."""
    groups: list[tuple[TableJobSpec, list[int]]] = []
    for index, spec in enumerate(specs):
        for position, (merged, members) in enumerate(groups):
            if _mergeable(merged, spec):
                groups[position] = (
                    TableJobSpec(
                        workspace_id=merged.workspace_id,
                        user_id=merged.user_id,
                        table_id=merged.table_id,
                        label=f"{merged.label} + {spec.label.rsplit(' / ', 1)[-1]}"[:200],
                        fields=[*merged.fields, *spec.fields],
                        waterfall={**merged.waterfall, **spec.waterfall},
                        inputs=[{**x, **y} for x, y in zip(merged.inputs, spec.inputs, strict=True)],
                        row_ids=merged.row_ids,
                        target={
                            **merged.target,
                            "columns": {**merged.target["columns"], **spec.target["columns"]},
                        },
                    ),
                    [*members, index],
                )
                break
        else:
            groups.append((spec, [index]))
    return groups


def _record_out(
    job: EnrichmentJob, row: EnrichmentRecord, stored: RowOut | None, attempts: Sequence[EnrichmentAttempt]
) -> EnrichmentRecordOut:
    target = job.target or {}
    cells = stored.cells if stored is not None else {}
    # An inline job's record keeps no input: its row is its input.
    data = dict(row.input) if row.input is not None else row_input(cells, target.get("inputs") or {})
    results: dict[str, FieldOutcome] | None = None
    output: dict[str, Any] | None = None
    # A record the settlement failed (never run: no attempt) has no results, as a pending one.
    if row.status is RecordStatus.COMPLETED or (row.status is RecordStatus.FAILED and attempts):
        columns: dict[str, str] = target.get("columns") or {}
        results = {
            name: _field_result(job.id, row.status, stored, columns.get(name), [a for a in attempts if a.field == name])
            for name in job.fields
        }
        if stored is not None:
            output = {f: v for f in job.fields if (c := columns.get(f)) and (v := cells.get(c)) is not None}
        else:
            output = {f: o.value for f, o in results.items() if o.found and o.value is not None}
    return EnrichmentRecordOut(
        id=row.id,
        job_id=row.job_id,
        seq=row.seq,
        batch_no=row.batch_no,
        status=row.status,
        input=data,
        output=output,
        results={k: FieldResult.model_validate(v) for k, v in results.items()} if results is not None else None,
        credits_spent=row.credits_spent,
        error=row.error,
        finished_at=row.finished_at,
        row_id=row.row_id,
    )


# Outcomes after which a provider had nothing to give for the field (enrichment/waterfall.py).
_NOTHING = frozenset({"no_match", "no_value", "invalid_input"})


def _field_result(
    job_id: uuid.UUID,
    status: RecordStatus,
    stored: RowOut | None,
    column: str | None,
    attempts: Sequence[EnrichmentAttempt],
) -> FieldOutcome:
    """A field's result: the cell's provenance when this job wrote it, else the job's attempts."""
    if stored is not None and column is not None:
        state = stored.meta.get(column)
        if isinstance(state, dict) and state.get("job_id") == str(job_id):
            outcome = FieldOutcome.from_cell(state, stored.cells.get(column))
            if outcome is not None:
                return outcome
    value = stored.cells.get(column) if stored is not None and column is not None else None
    won = next((a for a in attempts if a.outcome == "success"), None)
    if won is not None:
        return FieldOutcome(FieldStatus.FOUND, value, won.provider, won.cost, won.cached)
    last = {a.provider: a.outcome for a in attempts}
    if status is RecordStatus.COMPLETED or all(outcome in _NOTHING for outcome in last.values()):
        return FieldOutcome(FieldStatus.NOT_FOUND)
    return FieldOutcome(FieldStatus.FAILED)
