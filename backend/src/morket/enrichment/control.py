"""Temporal control of enrichment jobs: the workflow input, starting a job's workflow, signalling
its cancel. Called after the job's transaction has committed (`core.db.after_commit`), by the API,
the column runs, the auto-runner and the reconciler.
"""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from morket.core.config import Settings
from morket.enrichment.workflows import EnrichmentJobWorkflow, JobWorkflowInput
from morket.models import EnrichmentJob


class JobControl:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def workflow_input(self, job: EnrichmentJob) -> JobWorkflowInput:
        return JobWorkflowInput(
            job_id=str(job.id),
            record_count=job.record_count,
            chunk_size=self.settings.enrichment_chunk_size,
            # issue 10: a budgeted run has one chunk at a time, so each chunk's budget gate sees
            # everything spent before it (docs/columns.md, "Budgets").
            parallel_chunks=1 if job.budget is not None else self.settings.enrichment_parallel_chunks,
            chunks_per_run=self.settings.enrichment_chunks_per_run,
        )

    async def start_workflow(self, client: Client, job: EnrichmentJob) -> None:
        """Start the job's workflow (after the commit). The id comes from the job, so a repeat is a no-op."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                EnrichmentJobWorkflow.run,
                self.workflow_input(job),
                id=job.workflow_id,
                task_queue=self.settings.temporal_task_queue,
            )

    async def signal_cancel(self, client: Client, job: EnrichmentJob) -> None:
        await client.get_workflow_handle(job.workflow_id).signal(EnrichmentJobWorkflow.cancel)
