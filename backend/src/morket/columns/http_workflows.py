"""The durable run of an HTTP API column: a paced batch run of chunks (docs/columns.md,
docs/runs.md).

Why a workflow of its own rather than the enrichment engine with a free provider: the engine is
built around provider adapters, fields, waterfalls, credit reservations and a provider's
workspace-wide rate limit; an HTTP column is one request template per column, never charged,
with a rate limit of its own. What it needs is the shared paced run (`morket.runs.workflow`):
chunks taken from the database (the cells still `queued`/`running` for this run, so a retried
chunk after a worker crash asks only for rows not yet written), continue-as-new to bound the
history, cancel through the database (seen by the next chunk and every second inside one), and
one pacing clock carried from chunk to chunk so the rate limit holds across the whole run.

The registered names and the input's shape ({run_id, not_before}) are those of the workflow
before the skeleton was shared, so running histories replay (docs/runs.md).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from morket.runs.workflow import PacedRun, RunInput, run_paced

HTTP_RUN_WORKFLOW = "HttpColumnRunWorkflow"
RUN_HTTP_CHUNK = "columns.http_run_chunk"
FINISH_HTTP_RUN = "columns.http_finish_run"
CHUNKS_PER_RUN = 50  # then continue-as-new: the history stays small however many rows
HTTP_RUN = PacedRun(
    step=RUN_HTTP_CHUNK, finish=FINISH_HTTP_RUN, steps_per_run=CHUNKS_PER_RUN, step_timeout=timedelta(minutes=30)
)


@workflow.defn(name=HTTP_RUN_WORKFLOW)
class HttpColumnRunWorkflow:
    @workflow.run
    async def run(self, inp: RunInput) -> str:
        return await run_paced(HTTP_RUN, inp)
