"""The activities of `CrmExportRunWorkflow` (a paced run, docs/runs.md). Each activity opens
its own units of work; no transaction is open while a CRM is called."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from morket.core.db import unit_of_work
from morket.crm.adapters import adapter_for
from morket.crm.adapters.base import PushStatus, RecordResult, TokenSet
from morket.crm.service import BatchWork, ConnectionBroken, CrmConnectionService, CrmExportService
from morket.crm.workflows import FINISH_CRM_RUN, PUSH_CRM_BATCH
from morket.models import CrmExportRun, CrmRowState
from morket.runs.activities import PacedRunActivities
from morket.runs.pacing import PacingClock, heartbeat, wait_out
from morket.runs.workflow import FinishInput, StepInput, StepResult

log = logging.getLogger("morket.crm")


class CrmActivities(PacedRunActivities[CrmExportRun]):
    model = CrmExportRun

    async def _refresh(self, work: BatchWork, stale: TokenSet) -> TokenSet:
        assert work.connection_id is not None
        async with unit_of_work(self.sessions) as session:
            return await CrmConnectionService(session, self.settings).refresh(
                work.run.workspace_id, work.connection_id, stale, self.http
            )

    @activity.defn(name=PUSH_CRM_BATCH)
    async def push_batch(self, inp: StepInput) -> StepResult:
        run_id = uuid.UUID(inp.run_id)
        async with unit_of_work(self.sessions) as session:
            work = await CrmExportService(session, self.settings).begin_batch(run_id)
        if work.finished or work.crm is None or work.tokens is None:
            # No records this time (all skipped or failed) is not the end unless begin said so.
            return StepResult(done=work.finished, not_before=inp.not_before, error=work.error)
        assert work.export is not None
        adapter = adapter_for(work.crm)
        endpoints = adapter.endpoints(self.settings)
        clock = PacingClock(inp.not_before, 1.0 / self.settings.crm_requests_per_second)
        tokens = work.tokens
        waited = 0.0
        refreshed = False
        unanswered_since = _earlier_attempts_since()
        try:
            if tokens.expiring():
                tokens, refreshed = await self._refresh(work, tokens), True
            while True:
                await clock.turn()
                outcome = await adapter.upsert(
                    self.http,
                    endpoints,
                    tokens,
                    work.export.object_type,
                    work.export.key_property,
                    work.records,
                    unanswered_since,
                )
                heartbeat()
                if outcome.status is PushStatus.OK:
                    results = outcome.results
                    break
                if outcome.status is PushStatus.UNAUTHORIZED:
                    if refreshed:
                        return StepResult(True, clock.not_before, f"the CRM refused fresh tokens: {outcome.error}")
                    tokens, refreshed = await self._refresh(work, tokens), True
                    continue
                if outcome.status is PushStatus.RATE_LIMITED:
                    delay = outcome.retry_after or 1.0
                    if waited + delay > self.settings.crm_max_retry_wait_seconds:
                        return StepResult(True, clock.not_before, f"rate limited for too long: {outcome.error}")
                    waited += delay
                    log.info("crm run %s rate limited, waiting %.1fs", run_id, delay)
                    if await wait_out(delay, lambda: self.cancelled(run_id)):
                        return StepResult(True, clock.not_before)
                    continue
                if outcome.status is PushStatus.UNAVAILABLE:
                    # Temporal retries the activity: the same queued rows, pushed again.
                    raise ApplicationError(outcome.error or "the CRM is unavailable")
                results = [RecordResult(r.row_id, CrmRowState.FAILED, error=outcome.error) for r in work.records]
                break
        except ConnectionBroken as exc:
            return StepResult(True, clock.not_before, str(exc))
        except ConnectionError as exc:
            raise ApplicationError(f"the CRM's token endpoint failed: {exc}") from None
        async with unit_of_work(self.sessions) as session:
            await CrmExportService(session, self.settings).save_batch(work, results)
        return StepResult(done=False, not_before=clock.not_before)

    @activity.defn(name=FINISH_CRM_RUN)
    async def finish_run(self, inp: FinishInput) -> str:
        async with unit_of_work(self.sessions) as session:
            status = await CrmExportService(session, self.settings).finish(uuid.UUID(inp.run_id), inp.error)
        return status.value if status is not None else "missing"


def _earlier_attempts_since() -> datetime | None:
    """When this batch was first scheduled, if this is a retry (an earlier attempt may have sent it
    and lost the answer: the retry takes the same queued rows); None on the first attempt."""
    try:
        info = activity.info()
    except RuntimeError:  # outside an activity (tests of this loop)
        return None
    if info.attempt == 1:
        return None
    scheduled = info.scheduled_time
    return scheduled if scheduled.tzinfo else scheduled.replace(tzinfo=UTC)
