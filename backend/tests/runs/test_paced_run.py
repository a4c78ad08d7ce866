"""The shared paced-run skeleton (morket.runs, docs/runs.md) on the real Temporal dev server:
the pacing clock travels from step to step and across continue-as-new, the finish activity
runs once with the step's error or the activity failure, and the pacing helpers of the activity
side. The kinds (HTTP columns, CRM export) are tested end to end in tests/columns and tests/crm."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from morket.runs.pacing import PacingClock, wait_out
from morket.runs.workflow import FinishInput, RunInput, StepInput, StepResult
from tests.runs.workflows import TEST_FINISH, TEST_STEP, ShortPacedRunWorkflow


@dataclass
class Script:
    """What the test activities do: `steps` steps, then done (with `error`), or fail for good."""

    steps: int
    error: str | None = None
    fail_at: int | None = None
    seen: list[float] = field(default_factory=list)  # each step's not_before, in order
    finished: list[str | None] = field(default_factory=list)

    @activity.defn(name=TEST_STEP)
    async def step(self, inp: StepInput) -> StepResult:
        self.seen.append(inp.not_before)
        if self.fail_at is not None and len(self.seen) == self.fail_at:
            raise ApplicationError("the API said no", non_retryable=True)
        done = len(self.seen) >= self.steps
        return StepResult(done=done, not_before=inp.not_before + 1, error=self.error if done else None)

    @activity.defn(name=TEST_FINISH)
    async def finish(self, inp: FinishInput) -> str:
        self.finished.append(inp.error)
        return "failed" if inp.error else "completed"


async def _run(client: Client, script: Script) -> tuple[str, str]:
    queue = f"paced-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=queue, workflows=[ShortPacedRunWorkflow], activities=[script.step, script.finish]
    ):
        handle = await client.start_workflow(
            ShortPacedRunWorkflow.run, RunInput("run-1", not_before=10.0), id=f"paced-{uuid.uuid4()}", task_queue=queue
        )
        first_run = handle.first_execution_run_id
        assert first_run is not None
        result = await asyncio.wait_for(handle.result(), 60)
    return result, first_run


async def test_the_clock_travels_across_steps_and_continue_as_new(temporal_client: Client) -> None:
    script = Script(steps=5)
    result, first_run = await _run(temporal_client, script)
    assert result == "completed"
    # Two steps per workflow run: 5 steps took three runs, and the clock went on unbroken.
    assert script.seen == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert script.finished == [None]
    handles = [h async for h in temporal_client.list_workflows(f"RunId = '{first_run}'")]
    assert [h.status for h in handles] == [WorkflowExecutionStatus.CONTINUED_AS_NEW]


async def test_a_step_that_cannot_go_on_settles_the_run_with_its_error(temporal_client: Client) -> None:
    script = Script(steps=1, error="the column was deleted")
    result, _ = await _run(temporal_client, script)
    assert result == "failed"
    assert script.finished == ["the column was deleted"]


async def test_a_failing_step_settles_the_run_once_with_the_failure(temporal_client: Client) -> None:
    script = Script(steps=10, fail_at=3)
    result, _ = await _run(temporal_client, script)
    assert result == "failed" and len(script.seen) == 3
    [error] = script.finished
    assert error is not None and error.startswith("the run failed") and "the API said no" in error


async def test_the_pacing_clock_spaces_starts_from_not_before() -> None:
    start = time.time() + 0.2
    clock = PacingClock(start, 0.1)
    turns = []
    for _ in range(4):
        await clock.turn()
        turns.append(time.time())
    assert turns[0] >= start
    assert all(b - a >= 0.099 for a, b in itertools.pairwise(turns))
    assert clock.not_before == pytest.approx(turns[-1] + 0.1, abs=0.05)


async def test_waiting_out_a_429_stops_at_a_cancel() -> None:
    asked = asyncio.Event()

    async def cancelled() -> bool:
        return asked.is_set()

    began = time.monotonic()
    asyncio.get_running_loop().call_later(0.3, asked.set)
    assert await wait_out(30.0, cancelled) is True
    assert time.monotonic() - began < 5  # a slice, not the whole wait
    assert await wait_out(0.2, cancelled) is True
    asked.clear()
    assert await wait_out(0.2, cancelled) is False
