"""The enrichment job workflow: deterministic, no database, no record payloads in its history.

The workflow only knows a job id and its record count. It plans chunks as seq ranges, runs at
most `parallel_chunks` chunk activities at a time, continues as new after `chunks_per_run`
chunks (so a 100k-record job never nears the 51,200-event or 2,000-pending-activity limits),
and ends with `finalize_job`, which settles the credit reservation and queues the webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ActivityCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from morket.webhooks.workflows import DeliveryInput, WebhookDeliveryWorkflow

BEGIN_JOB = "enrichment.begin_job"
RUN_CHUNK = "enrichment.run_chunk"
FINALIZE_JOB = "enrichment.finalize_job"
CANCELLED_CHUNK_STOPS = "cancelled-chunk-stops-scheduling"

# A chunk heartbeats every few records; a silent chunk is a dead worker, retried elsewhere.
CHUNK_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
CHUNK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=["JobNotFound"],
)
BOOKKEEPING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def workflow_id_for(job_id: str) -> str:
    return f"enrichment-job-{job_id}"


@dataclass
class JobWorkflowInput:
    job_id: str
    record_count: int
    chunk_size: int
    parallel_chunks: int
    chunks_per_run: int
    next_seq: int = 0
    cancel_requested: bool = False
    error: str | None = None


@dataclass
class ChunkInput:
    job_id: str
    start_seq: int
    end_seq: int


@dataclass
class ChunkResult:
    processed: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: bool = False


@dataclass
class BeginJobInput:
    job_id: str


@dataclass
class FinalizeInput:
    job_id: str
    cancelled: bool
    error: str | None = None


@dataclass
class FinalizeResult:
    status: str
    delivery_ids: list[str] = field(default_factory=list)
    retry_delays: list[float] = field(default_factory=list)
    timeout_seconds: float = 10.0


@dataclass
class JobProgress:
    next_seq: int
    record_count: int
    running_chunks: int
    cancel_requested: bool


@workflow.defn(name="EnrichmentJobWorkflow")
class EnrichmentJobWorkflow:
    def __init__(self) -> None:
        self._cancel = False
        self._next_seq = 0
        self._record_count = 0
        self._running = 0

    @workflow.signal
    def cancel(self) -> None:
        self._cancel = True

    @workflow.query
    def progress(self) -> JobProgress:
        return JobProgress(self._next_seq, self._record_count, self._running, self._cancel)

    @workflow.run
    async def run(self, inp: JobWorkflowInput) -> str:
        self._cancel = self._cancel or inp.cancel_requested
        self._next_seq = inp.next_seq
        self._record_count = inp.record_count
        error = inp.error
        try:
            if inp.next_seq == 0 and not workflow.info().continued_run_id:
                await workflow.execute_activity(
                    BEGIN_JOB,
                    BeginJobInput(inp.job_id),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BOOKKEEPING_RETRY,
                )
            if error is None:
                error = await self._run_chunks(inp)
            if error is None and not self._cancel and self._next_seq < inp.record_count:
                workflow.continue_as_new(
                    JobWorkflowInput(
                        job_id=inp.job_id,
                        record_count=inp.record_count,
                        chunk_size=inp.chunk_size,
                        parallel_chunks=inp.parallel_chunks,
                        chunks_per_run=inp.chunks_per_run,
                        next_seq=self._next_seq,
                        cancel_requested=self._cancel,
                    )
                )
        except asyncio.CancelledError:
            # Cancelled outside the chunk loop (e.g. during begin_job): settle the job as cancelled.
            self._cancel = True
        return await self._finalize(inp.job_id, error)

    async def _run_chunks(self, inp: JobWorkflowInput) -> str | None:
        running: list[asyncio.Task[ChunkResult]] = []
        scheduled = 0
        error: str | None = None
        try:
            while True:
                while (
                    not self._cancel
                    and error is None
                    and len(running) < inp.parallel_chunks
                    and self._next_seq < inp.record_count
                    and scheduled < inp.chunks_per_run
                ):
                    end = min(self._next_seq + inp.chunk_size, inp.record_count)
                    running.append(asyncio.create_task(self._chunk(ChunkInput(inp.job_id, self._next_seq, end))))
                    self._next_seq = end
                    scheduled += 1
                self._running = len(running)
                if not running:
                    return error
                # Wake up on a finished chunk or on a cancel signal, whichever comes first.
                cancel_wait = asyncio.create_task(workflow.wait_condition(lambda: self._cancel))
                try:
                    done, _ = await workflow.wait([*running, cancel_wait], return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError:
                    # The workflow itself was cancelled: same path as the cancel signal.
                    self._cancel = True
                    done = []
                if cancel_wait not in done:
                    cancel_wait.cancel()
                for task in done:
                    if task is cancel_wait:
                        continue
                    running.remove(task)  # type: ignore[arg-type]
                    try:
                        result = task.result()
                    except ActivityError as exc:
                        error = error or f"a chunk failed after retries: {exc.cause or exc}"
                        continue
                    # A chunk saw the job's cancel flag (or a settled job): the signal may have been
                    # lost, so stop scheduling here instead of running every remaining chunk as a no-op.
                    # Patched: workflows already past such a chunk replay as they ran.
                    if isinstance(result, ChunkResult) and result.cancelled and workflow.patched(CANCELLED_CHUNK_STOPS):
                        self._cancel = True
                if self._cancel and running:
                    for task in running:
                        task.cancel()
                    # Wait until every chunk has acknowledged, so nothing is written after finalize.
                    await workflow.wait(running)
                    running.clear()
        finally:
            self._running = 0

    async def _chunk(self, chunk: ChunkInput) -> ChunkResult:
        result: ChunkResult = await workflow.execute_activity(
            RUN_CHUNK,
            chunk,
            result_type=ChunkResult,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=CHUNK_HEARTBEAT_TIMEOUT,
            retry_policy=CHUNK_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        return result

    async def _finalize(self, job_id: str, error: str | None) -> str:
        result: FinalizeResult = await workflow.execute_activity(
            FINALIZE_JOB,
            FinalizeInput(job_id, cancelled=self._cancel, error=error),
            result_type=FinalizeResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=BOOKKEEPING_RETRY,
        )
        for delivery_id in result.delivery_ids:
            # Already started means an earlier attempt of this run got there first.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    WebhookDeliveryWorkflow.run,
                    DeliveryInput(delivery_id, result.retry_delays, result.timeout_seconds),
                    id=f"webhook-delivery-{delivery_id}",
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
        status: str = result.status
        return status
