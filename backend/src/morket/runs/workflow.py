"""The paced batch run's workflow skeleton (docs/runs.md).

A kind's workflow class keeps its registered name and calls `run_paced` with its `PacedRun`:
the step activity takes the next batch from the database (the rows of the run not yet settled,
so a step retried after a worker crash or a lost answer asks only for those), does it and saves
it; the pacing clock (`not_before`) travels from step to step so a rate limit holds across the
whole run; continue-as-new after `steps_per_run` steps bounds the history; cancel goes through
the database (the next step sees it); the finish activity settles the run, whatever happened.

Workflow code: deterministic, no I/O; imports nothing but temporalio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError


@dataclass
class RunInput:
    """The workflow's input (also its continue-as-new input)."""

    run_id: str
    not_before: float = 0.0  # epoch seconds: the earliest the next request may start


@dataclass
class StepInput:
    run_id: str
    not_before: float


@dataclass
class StepResult:
    done: bool  # no rows left, cancel asked, or the run cannot go on (error set)
    not_before: float
    error: str | None = None


@dataclass
class FinishInput:
    run_id: str
    error: str | None = None


@dataclass(frozen=True)
class PacedRun:
    """What a kind supplies to the skeleton: its two activities and its limits."""

    step: str  # activity name: StepInput -> StepResult (one batch)
    finish: str  # activity name: FinishInput -> str (the run's final status)
    steps_per_run: int  # then continue-as-new: the history stays small however many rows
    step_timeout: timedelta


async def run_paced(spec: PacedRun, inp: RunInput) -> str:
    """The run: steps until one says done (or fails for good), then the finish activity."""
    not_before = inp.not_before
    error: str | None = None
    for _ in range(spec.steps_per_run):
        try:
            result: StepResult = await workflow.execute_activity(
                spec.step,
                StepInput(inp.run_id, not_before),
                result_type=StepResult,
                start_to_close_timeout=spec.step_timeout,
                heartbeat_timeout=timedelta(seconds=60),
                # A 5xx or a lost answer: the same rows again (their writes are keyed, so idempotent).
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
        workflow.continue_as_new(RunInput(inp.run_id, not_before))
    status: str = await workflow.execute_activity(
        spec.finish,
        FinishInput(inp.run_id, error),
        result_type=str,
        start_to_close_timeout=timedelta(minutes=10),
        retry_policy=RetryPolicy(maximum_attempts=10, initial_interval=timedelta(seconds=1)),
    )
    return status
