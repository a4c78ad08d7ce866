"""A durable run row's bookkeeping, the same for every kind: start its workflow, mark it
running, ask it to stop, settle it (docs/runs.md). Services call these under the row's lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client

from morket.core.config import Settings
from morket.core.errors import Conflict, NotFound
from morket.runs.repository import R, RunRepository
from morket.runs.workflow import RunInput

FINAL_STATUSES = frozenset({"completed", "cancelled", "failed"})


def is_final(run: R) -> bool:
    return run.status in FINAL_STATUSES


async def start_workflow(client: Client, settings: Settings, workflow_name: str, run: R) -> None:
    """Start the run's workflow (id = the run's `workflow_id`, so a second start is refused)."""
    await client.start_workflow(
        workflow_name, RunInput(str(run.id)), id=run.workflow_id, task_queue=settings.temporal_task_queue
    )


def mark_running(run: R) -> bool:
    """The first step's: queued -> running. True if it changed."""
    if run.status != "queued":
        return False
    run.status = type(run.status)("running")
    run.started_at = datetime.now(UTC)
    return True


async def find(runs: RunRepository[R], workspace_id: uuid.UUID, run_id: uuid.UUID, *, lock: bool = False) -> R:
    """The workspace's run, or 404 (another workspace's run does not exist here)."""
    run = await runs.get(workspace_id, run_id, lock=lock)
    if run is None:
        raise NotFound("Run not found.")
    return run


async def cancel(runs: RunRepository[R], workspace_id: uuid.UUID, run_id: uuid.UUID) -> R:
    """The cancel route's: lock the run, ask it to stop (`request_cancel`), flush."""
    run = await find(runs, workspace_id, run_id, lock=True)
    request_cancel(run)
    await runs.session.flush()
    return run


def request_cancel(run: R) -> None:
    """Ask the run to stop (its next step sees it); a final run is a 409, asking twice is once."""
    if is_final(run):
        raise Conflict(f"The run is already {run.status.value}.", code="run_finished")
    if run.cancel_requested_at is None:
        run.cancel_requested_at = datetime.now(UTC)


def close(run: R, error: str | None) -> bool:
    """Settle the row: failed (`error`), cancelled (cancel asked) or completed. False if it was
    final already (settling is idempotent: the reconciler and the workflow may both try)."""
    if is_final(run):
        return False
    status = type(run.status)
    if error is not None:
        run.status, run.error = status("failed"), error
    elif run.cancel_requested_at is not None:
        run.status = status("cancelled")
    else:
        run.status = status("completed")
    run.finished_at = datetime.now(UTC)
    return True
