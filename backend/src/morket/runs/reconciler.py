"""The sweep over a run table: every open run gets a workflow or is settled, whatever happened
to Temporal (docs/runs.md, "Reconciler"). One loop for every kind; a kind supplies how to find
its open runs, start one, settle one and (enrichment) signal a cancel again.

A run is started after the commit of its rows; a start that failed (Temporal unreachable)
leaves it queued with no workflow. Nothing here does a run's work: it starts the workflow, or
asks the kind's own settle (the code the workflow's last activity runs) to settle it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("morket.runs.reconciler")

# A run younger than this may still be getting its workflow from the API: leave it alone.
UNSETTLED_AFTER = timedelta(seconds=30)

ALIVE = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW)


class OpenRun(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def workflow_id(self) -> str: ...
    @property
    def cancel_requested_at(self) -> datetime | None: ...


Run = TypeVar("Run", bound=OpenRun)


class RunKind(Protocol[Run]):
    """What a kind of durable run supplies to the reconciler."""

    noun: str  # "run", "job": in logs and in the error a dead workflow leaves

    async def open_runs(self, cutoff: datetime) -> Sequence[Run]:
        """Runs not final that were created before `cutoff`."""

    async def start(self, client: Client, run: Run) -> None:
        """Start the run's workflow (a second start raises WorkflowAlreadyStartedError)."""

    async def signal_cancel(self, client: Client, run: Run) -> bool:
        """A cancel asked of a live workflow: signal it again if the kind cancels by signal
        (True), or nothing if its steps read the cancel from the database (False)."""

    async def settle(self, run: Run, error: str | None) -> str:
        """Settle the run in its own unit of work (cancelled if a cancel was asked, failed with
        `error` if given, else completed); idempotent. Returns the final status for the log."""


async def reconcile(client: Client, kind: RunKind[Run], *, older_than: timedelta = UNSETTLED_AFTER) -> int:
    """Give every open run a workflow, or settle it; idempotent, safe on several workers at once.

    For each run not final after `older_than`, by the state of its workflow in Temporal:
    - alive: nothing, or the cancel signalled again (kinds that cancel by signal);
    - none, no cancel asked: start it (Temporal was unreachable when the run was posted);
    - none, cancel asked: settle it as cancelled (no workflow will ever do it);
    - closed without settling (terminated, timed out, failed outside our code): settle it as
      failed with the reason (as cancelled if a cancel was asked).
    Settling locks the run row and leaves a final run as it is, and a step only writes rows not
    yet settled. Returns the number of runs acted on.
    """
    acted = 0
    for run in await kind.open_runs(datetime.now(UTC) - older_than):
        try:
            acted += await _reconcile(client, kind, run)
        except (RPCError, RuntimeError):  # Temporal unreachable: the next sweep tries again
            log.exception("could not reconcile %s %s", kind.noun, run.id)
    return acted


async def _reconcile(client: Client, kind: RunKind[Run], run: Run) -> int:
    cancel_requested = run.cancel_requested_at is not None
    try:
        status: WorkflowExecutionStatus | None = (await client.get_workflow_handle(run.workflow_id).describe()).status
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        status = None
    if status in ALIVE:
        return int(cancel_requested and await kind.signal_cancel(client, run))
    if status is None and not cancel_requested:
        with contextlib.suppress(WorkflowAlreadyStartedError):  # another worker's sweep was first
            await kind.start(client, run)
        log.warning("started the workflow of %s %s (its start had failed)", kind.noun, run.id)
        return 1
    error = None
    if status is not None and not cancel_requested:
        error = f"the {kind.noun}'s workflow was {status.name.lower()} before it settled the {kind.noun}"
    settled = await kind.settle(run, error)
    log.warning("settled %s %s as %s (workflow: %s)", kind.noun, run.id, settled, status)
    return 1
