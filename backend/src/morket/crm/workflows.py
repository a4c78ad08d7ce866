"""The durable run of a CRM export: a paced batch run of batches (docs/crm.md, docs/runs.md).

Each step takes the next batch from the database (the run's rows still `queued`, so a batch
retried after a worker crash or a lost answer asks for the rows not yet settled), pushes it and
settles it; the pacing clock travels from batch to batch; continue-as-new bounds the history;
cancel goes through the database and is seen by the next batch (and by a batch waiting out a
429). The registered names and the input's shape are unchanged by the shared skeleton.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from morket.runs.workflow import PacedRun, RunInput, run_paced

CRM_RUN_WORKFLOW = "CrmExportRunWorkflow"
PUSH_CRM_BATCH = "crm.push_batch"
FINISH_CRM_RUN = "crm.finish_run"
BATCHES_PER_RUN = 100  # then continue-as-new: the history stays small however many rows
CRM_RUN = PacedRun(
    step=PUSH_CRM_BATCH, finish=FINISH_CRM_RUN, steps_per_run=BATCHES_PER_RUN, step_timeout=timedelta(minutes=15)
)


@workflow.defn(name=CRM_RUN_WORKFLOW)
class CrmExportRunWorkflow:
    @workflow.run
    async def run(self, inp: RunInput) -> str:
        return await run_paced(CRM_RUN, inp)
