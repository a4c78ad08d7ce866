"""Enrichment activities: begin, one chunk of records, finalize. Each opens its own units of work.

The chunk activity is safe to run again after a crash: it only loads records still `pending`,
writes each finished record together with its attempts and its debits in one transaction (a
record that another execution already wrote is skipped whole), and debit keys are unique per
(job, record, field, provider), so nothing is charged twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from morket.columns import sink
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.enrichment.budget import BudgetGate
from morket.enrichment.repository import PendingRecord, RecordResult
from morket.enrichment.result import FieldOutcome, FieldStatus, RecordAttempt
from morket.enrichment.runs import ChunkJob, Debit, JobRunService
from morket.enrichment.waterfall import ProviderCall, RecordOutcome, run_waterfall, unexpected
from morket.enrichment.workflows import (
    BEGIN_JOB,
    FINALIZE_JOB,
    RUN_CHUNK,
    BeginJobInput,
    ChunkInput,
    ChunkResult,
    FinalizeInput,
    FinalizeResult,
)
from morket.providers.base import ProviderAdapter

log = logging.getLogger("morket.enrichment.worker")

HEARTBEAT_EVERY = 1.0
CANCEL_CHECK_EVERY = 1.0


class ProviderAccess(Protocol):
    """How a chunk reaches providers for one workspace (its keys, the shared gateway)."""

    async def open(
        self, workspace_id: uuid.UUID, providers: Sequence[str], *, use_cache: bool = True
    ) -> tuple[Mapping[str, ProviderAdapter], ProviderCall]: ...


@dataclass
class _Progress:
    total: int
    done: int = 0
    written: int = 0
    completed: int = 0
    failed: int = 0
    buffer: list[tuple[PendingRecord, RecordOutcome]] = field(default_factory=list)


def to_rows(
    items: Sequence[tuple[PendingRecord, RecordOutcome]],
) -> tuple[list[RecordResult], list[RecordAttempt], list[Debit]]:
    results: list[RecordResult] = []
    attempts: list[RecordAttempt] = []
    debits: list[Debit] = []
    for record, outcome in items:
        results.append(
            RecordResult(
                record_id=record.id,
                status=outcome.status,
                fields=dict(outcome.fields),
                credits_spent=outcome.cost,
                error=outcome.error,
            )
        )
        attempts.extend((record.id, a) for a in outcome.attempts)
        debits.extend(
            Debit(record.id, name, f.provider, f.cost)
            for name, f in outcome.fields.items()
            if f.found and f.cost > 0 and f.provider is not None
        )
    return results, attempts, debits


def failed_record(fields: Sequence[str], exc: BaseException) -> RecordOutcome:
    """A record whose enrichment raised: every field failed, with the reason on the record."""
    outcome = RecordOutcome(fields={name: FieldOutcome(FieldStatus.FAILED) for name in fields})
    outcome.reason = f"unexpected error: {unexpected(exc)}"
    return outcome


class EnrichmentActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, providers: ProviderAccess
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.providers = providers

    @activity.defn(name=BEGIN_JOB)
    async def begin_job(self, inp: BeginJobInput) -> None:
        async with unit_of_work(self.sessions) as session:
            await JobRunService(session, self.settings).begin(uuid.UUID(inp.job_id))

    @activity.defn(name=FINALIZE_JOB)
    async def finalize_job(self, inp: FinalizeInput) -> FinalizeResult:
        async with unit_of_work(self.sessions) as session:
            settlement = await JobRunService(session, self.settings).settle(
                uuid.UUID(inp.job_id), cancelled=inp.cancelled, error=inp.error
            )
        return FinalizeResult(
            status=settlement.status,
            delivery_ids=[str(d) for d in settlement.delivery_ids],
            retry_delays=self.settings.webhook_retry_schedule,
            timeout_seconds=self.settings.webhook_timeout_seconds,
        )

    @activity.defn(name=RUN_CHUNK)
    async def run_chunk(self, inp: ChunkInput) -> ChunkResult:
        job_id = uuid.UUID(inp.job_id)
        async with unit_of_work(self.sessions) as session:
            service = JobRunService(session, self.settings)
            job = await service.chunk_job(job_id)
            if job is None:
                raise ApplicationError(f"job {job_id} does not exist", type="JobNotFound", non_retryable=True)
            if job.cancel_requested or job.final:
                return ChunkResult(cancelled=True)
            records = await service.pending_records(job_id, inp.start_seq, inp.end_seq)
            # An inline job's records are its table's rows: their inputs are read now, from the cells.
            records = await service.with_row_inputs(job, records)
            if records and job.table_id is not None and job.target is not None:
                # issue 10: the run's cells show `running` while their chunk works on them.
                rows = [r.row_id for r in records if r.row_id is not None]
                await sink.mark_running(session, job.id, job.workspace_id, job.table_id, job.target, rows)
        if not records:
            return ChunkResult()
        slugs = sorted({slug for chain in job.waterfall.values() for slug in chain})
        first_attempt = activity.info().attempt == 1
        adapters, call = await self.providers.open(job.workspace_id, slugs, use_cache=first_attempt)
        gate = None
        if job.budget is not None:  # issue 10: a run's budget (morket/enrichment/budget.py)
            async with unit_of_work(self.sessions) as session:
                gate = BudgetGate(await JobRunService(session, self.settings).budget_left(job.id, job.budget))
        result = await self._enrich(job, records, adapters, call, gate)
        if gate is not None and gate.exhausted:
            async with unit_of_work(self.sessions) as session:
                await JobRunService(session, self.settings).mark_budget_reached(job.id)
            result.cancelled = True  # stop scheduling chunks; the settlement says why
        return result

    async def _enrich(
        self,
        job: ChunkJob,
        records: list[PendingRecord],
        adapters: Mapping[str, ProviderAdapter],
        call: ProviderCall,
        gate: BudgetGate | None = None,
    ) -> ChunkResult:
        progress = _Progress(total=len(records))
        limit = asyncio.Semaphore(self.settings.enrichment_record_concurrency)
        cancelled = asyncio.Event()

        async def one(record: PendingRecord) -> tuple[PendingRecord, RecordOutcome | None]:
            async with limit:
                if gate is not None and not await gate.admit(job.worst_per_record):
                    return record, None  # over the budget: stays pending, the settlement cancels it
                outcome = None
                try:
                    outcome = await run_waterfall(record.input or {}, job.fields, job.waterfall, adapters, call)
                except Exception as exc:
                    # The waterfall keeps provider errors inside their field; anything else that
                    # escapes is this record's failure, never its chunk's (the other records stand).
                    log.exception("record %s failed unexpectedly", record.id)
                    outcome = failed_record(job.fields, exc)
                finally:
                    if gate is not None:
                        await gate.settle(job.worst_per_record, outcome.cost if outcome is not None else 0)
                return record, outcome

        tasks = [asyncio.create_task(one(r)) for r in records]
        # Two helpers: heartbeats never touch the database (a heartbeat queued behind pooled
        # connections arrives late, and Temporal then starts a second, paying attempt), while the
        # cancel poll may wait for a connection without delaying them.
        helpers = [
            asyncio.create_task(self._heartbeat(progress)),
            asyncio.create_task(self._watch_cancel(job.id, cancelled, tasks)),
        ]
        try:
            for next_done in asyncio.as_completed(tasks):
                try:
                    item = await next_done
                except asyncio.CancelledError:
                    if cancelled.is_set():  # the watcher saw the job's cancel flag
                        break
                    raise
                if item[1] is None:
                    continue
                progress.buffer.append((item[0], item[1]))
                progress.done += 1
                if len(progress.buffer) >= self.settings.enrichment_write_batch:
                    await self._flush(job, progress)
            await self._stop(tasks, helpers)
            await self._flush(job, progress)
        except asyncio.CancelledError:
            # Temporal cancelled us (job cancel): keep what is finished, stop everything else.
            await self._stop(tasks, helpers)
            await self._flush(job, progress)
            raise
        except Exception:
            # Write the records that did finish before the error travels up: the retry then only
            # redoes the rest, instead of paying the providers again for finished records.
            await self._stop(tasks, helpers)
            with contextlib.suppress(Exception):
                await self._flush(job, progress)
            raise
        finally:
            # Also on an unexpected error: no record task may outlive its activity.
            await self._stop(tasks, helpers)
        return ChunkResult(
            processed=progress.written,
            completed=progress.completed,
            failed=progress.failed,
            cancelled=cancelled.is_set(),
        )

    async def _flush(self, job: ChunkJob, progress: _Progress) -> None:
        if not progress.buffer:
            return
        items, progress.buffer = progress.buffer, []
        results, attempts, debits = to_rows(items)
        async with unit_of_work(self.sessions) as session:
            written = await JobRunService(session, self.settings).save_batch(job, results, attempts, debits)
        progress.written += written
        progress.completed += sum(1 for r in results if r.status == "completed")
        progress.failed += sum(1 for r in results if r.status == "failed")

    @staticmethod
    async def _heartbeat(progress: _Progress) -> None:
        """Report progress; Temporal also delivers cancellation on heartbeats. No I/O of ours."""
        while True:
            activity.heartbeat({"done": progress.done, "written": progress.written, "total": progress.total})
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def _watch_cancel(
        self, job_id: uuid.UUID, cancelled: asyncio.Event, tasks: Sequence[asyncio.Task[Any]]
    ) -> None:
        """Poll the job's cancel flag: the way a cancel reaches a chunk when the signal was lost."""
        while True:
            async with self.sessions() as session:
                if await JobRunService(session, self.settings).cancel_requested(job_id):
                    cancelled.set()
                    for task in tasks:
                        task.cancel()
                    return
            await asyncio.sleep(CANCEL_CHECK_EVERY)

    @staticmethod
    async def _stop(tasks: Sequence[asyncio.Task[Any]], helpers: Sequence[asyncio.Task[None]]) -> None:
        for task in [*helpers, *tasks]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, *helpers, return_exceptions=True)
