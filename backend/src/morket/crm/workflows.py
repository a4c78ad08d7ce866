"""The durable run of a CRM export: a workflow of batches (docs/crm.md).

Modelled on the HTTP column run (columns/http_workflows.py): each activity takes the next
batch from the database (the run's rows still `queued`, so a batch retried after a worker
crash or a lost answer asks for the rows not yet settled), pushes it and settles it; the pacing
clock travels from batch to batch; continue-as-new bounds the history; cancel goes through the
database and is seen by the next batch (and by a batch waiting out a 429).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

PUSH_CRM_BATCH = "crm.push_batch"
FINISH_CRM_RUN = "crm.finish_run"
BATCHES_PER_RUN = 100  # then continue-as-new: the history stays small however many rows


@dataclass
class CrmRunInput:
    run_id: str
    not_before: float = 0.0  # epoch seconds: the earliest the next request may start


@dataclass
class CrmBatchInput:
    run_id: str
    not_before: float


@dataclass
class CrmBatchResult:
    done: bool  # no rows left, cancel asked, or the run cannot go on (error set)
    not_before: float
    error: str | None = None


@dataclass
class CrmFinishInput:
    run_id: str
    error: str | None = None


@workflow.defn(name="CrmExportRunWorkflow")
class CrmExportRunWorkflow:
    @workflow.run
    async def run(self, inp: CrmRunInput) -> str:
        not_before = inp.not_before
        error: str | None = None
        for _ in range(BATCHES_PER_RUN):
            try:
                result: CrmBatchResult = await workflow.execute_activity(
                    PUSH_CRM_BATCH,
                    CrmBatchInput(inp.run_id, not_before),
                    result_type=CrmBatchResult,
                    start_to_close_timeout=timedelta(minutes=15),
                    heartbeat_timeout=timedelta(seconds=60),
                    # A 5xx or a lost answer: the same rows again (the upsert is keyed, so idempotent).
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
            workflow.continue_as_new(CrmRunInput(inp.run_id, not_before))
        status: str = await workflow.execute_activity(
            FINISH_CRM_RUN,
            CrmFinishInput(inp.run_id, error),
            result_type=str,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=10, initial_interval=timedelta(seconds=1)),
        )
        return status
