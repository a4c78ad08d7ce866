"""A paced run used only by the tests of the shared skeleton: two steps per workflow run, so a
run of a few steps continues as new (its own module: the workflow sandbox re-imports it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from morket.runs.workflow import PacedRun, RunInput, run_paced

TEST_STEP = "tests.paced_step"
TEST_FINISH = "tests.paced_finish"
SHORT_RUN = PacedRun(step=TEST_STEP, finish=TEST_FINISH, steps_per_run=2, step_timeout=timedelta(seconds=30))


@workflow.defn(name="TestsShortPacedRunWorkflow")
class ShortPacedRunWorkflow:
    @workflow.run
    async def run(self, inp: RunInput) -> str:
        return await run_paced(SHORT_RUN, inp)
