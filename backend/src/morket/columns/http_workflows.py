"""The durable run of an HTTP API column: a workflow of chunks (docs/columns.md).

Why a workflow of its own rather than the enrichment engine with a free provider: the engine is
built around provider adapters, fields, waterfalls, credit reservations and a provider's
workspace-wide rate limit; an HTTP column is one request template per column, never charged,
with a rate limit of its own. What it needs from the engine's guarantees is small and is here:
chunks taken from the database (the cells still `queued`/`running` for this run, so a retried
chunk after a worker crash asks only for rows not yet written), continue-as-new to bound the
history, cancel through the database (seen by the next chunk and every second inside one), and
one pacing clock carried from chunk to chunk so the rate limit holds across the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

RUN_HTTP_CHUNK = "columns.http_run_chunk"
FINISH_HTTP_RUN = "columns.http_finish_run"
CHUNKS_PER_RUN = 50  # then continue-as-new: the history stays small however many rows


@dataclass
class HttpRunInput:
    run_id: str
    not_before: float = 0.0  # epoch seconds: the earliest the next request may start


@dataclass
class HttpChunkInput:
    run_id: str
    not_before: float


@dataclass
class HttpChunkResult:
    done: bool  # no rows left, cancel asked, or the run cannot go on (error set)
    not_before: float
    error: str | None = None


@dataclass
class HttpFinishInput:
    run_id: str
    error: str | None = None


@workflow.defn(name="HttpColumnRunWorkflow")
class HttpColumnRunWorkflow:
    @workflow.run
    async def run(self, inp: HttpRunInput) -> str:
        not_before = inp.not_before
        error: str | None = None
        for _ in range(CHUNKS_PER_RUN):
            try:
                result: HttpChunkResult = await workflow.execute_activity(
                    RUN_HTTP_CHUNK,
                    HttpChunkInput(inp.run_id, not_before),
                    result_type=HttpChunkResult,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(seconds=60),
                    retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1)),
                )
            except ActivityError as exc:
                error = f"the run failed: {exc.cause or exc}"
                break
            not_before = result.not_before
            if result.done:
                error = result.error
                break
        else:
            workflow.continue_as_new(HttpRunInput(inp.run_id, not_before))
        status: str = await workflow.execute_activity(
            FINISH_HTTP_RUN,
            HttpFinishInput(inp.run_id, error),
            result_type=str,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=10, initial_interval=timedelta(seconds=1)),
        )
        return status
