"""The import workflow: run the import activity, and mark the import failed if it cannot finish.

The workflow holds only the import id; the activity reads the file from the database, writes one
batch per transaction and heartbeats the line it reached, so a retried activity resumes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

RUN_IMPORT = "imports.run_import"
FAIL_IMPORT = "imports.fail_import"

RUN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=["ImportFailed"],
)


def workflow_id_for(import_id: str) -> str:
    return f"table-import-{import_id}"


@dataclass
class TableImportInput:
    import_id: str


@dataclass
class FailImportInput:
    import_id: str
    message: str


@workflow.defn(name="TableImportWorkflow")
class TableImportWorkflow:
    @workflow.run
    async def run(self, data: TableImportInput) -> str:
        try:
            await workflow.execute_activity(
                RUN_IMPORT,
                data,
                start_to_close_timeout=timedelta(hours=6),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=RUN_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            message = str(cause.message if cause is not None and hasattr(cause, "message") else exc)
            await workflow.execute_activity(
                FAIL_IMPORT,
                FailImportInput(data.import_id, message or "the import failed"),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            )
            return "failed"
        return "completed"
