"""The activities of `CrmExportRunWorkflow`, and the sweep that starts runs whose workflow did
not start after their commit. Each activity opens its own units of work; no transaction is
open while a CRM is called."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.crm.adapters import adapter_for
from morket.crm.adapters.base import PushStatus, RecordResult, TokenSet
from morket.crm.repository import CrmRepository
from morket.crm.service import BatchWork, ConnectionBroken, CrmConnectionService, CrmExportService
from morket.crm.workflows import FINISH_CRM_RUN, PUSH_CRM_BATCH, CrmBatchInput, CrmBatchResult, CrmFinishInput
from morket.models import CrmRowState

log = logging.getLogger("morket.crm")

WAIT_SLICE_SECONDS = 2.0  # a 429's wait is slept in slices: heartbeat and cancel check between
UNSTARTED_AFTER = timedelta(seconds=30)


class CrmActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, http: httpx.AsyncClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http

    async def _cancelled(self, run_id: uuid.UUID) -> bool:
        async with self.sessions() as session:
            return await CrmRepository(session).cancel_requested(run_id)

    async def _refresh(self, work: BatchWork, stale: TokenSet) -> TokenSet:
        assert work.connection_id is not None
        async with unit_of_work(self.sessions) as session:
            return await CrmConnectionService(session, self.settings).refresh(
                work.run.workspace_id, work.connection_id, stale, self.http
            )

    async def _wait(self, run_id: uuid.UUID, seconds: float) -> bool:
        """Sleep `seconds` (a CRM's Retry-After, a clock, not an event), heartbeating; True if
        a cancel was asked meanwhile."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(left, WAIT_SLICE_SECONDS))
            with contextlib.suppress(RuntimeError):
                activity.heartbeat()
            if await self._cancelled(run_id):
                return True
        return False

    @activity.defn(name=PUSH_CRM_BATCH)
    async def push_batch(self, inp: CrmBatchInput) -> CrmBatchResult:
        run_id = uuid.UUID(inp.run_id)
        async with unit_of_work(self.sessions) as session:
            work = await CrmExportService(session, self.settings).begin_batch(run_id)
        if work.finished or work.crm is None or work.tokens is None:
            # No records this time (all skipped or failed) is not the end unless begin said so.
            return CrmBatchResult(done=work.finished, not_before=inp.not_before, error=work.error)
        assert work.export is not None
        adapter = adapter_for(work.crm)
        endpoints = adapter.endpoints(self.settings)
        interval = 1.0 / self.settings.crm_requests_per_second
        not_before = inp.not_before
        tokens = work.tokens
        waited = 0.0
        refreshed = False
        unanswered_since = _earlier_attempts_since()
        try:
            if tokens.expiring():
                tokens, refreshed = await self._refresh(work, tokens), True
            while True:
                if (pause := not_before - time.time()) > 0:
                    await asyncio.sleep(pause)  # the pacing clock
                not_before = max(time.time(), not_before) + interval
                outcome = await adapter.upsert(
                    self.http,
                    endpoints,
                    tokens,
                    work.export.object_type,
                    work.export.key_property,
                    work.records,
                    unanswered_since,
                )
                with contextlib.suppress(RuntimeError):  # outside an activity (tests of this loop)
                    activity.heartbeat()
                if outcome.status is PushStatus.OK:
                    results = outcome.results
                    break
                if outcome.status is PushStatus.UNAUTHORIZED:
                    if refreshed:
                        return CrmBatchResult(True, not_before, f"the CRM refused fresh tokens: {outcome.error}")
                    tokens, refreshed = await self._refresh(work, tokens), True
                    continue
                if outcome.status is PushStatus.RATE_LIMITED:
                    delay = outcome.retry_after or 1.0
                    if waited + delay > self.settings.crm_max_retry_wait_seconds:
                        return CrmBatchResult(True, not_before, f"rate limited for too long: {outcome.error}")
                    waited += delay
                    log.info("crm run %s rate limited, waiting %.1fs", run_id, delay)
                    if await self._wait(run_id, delay):
                        return CrmBatchResult(True, not_before)
                    continue
                if outcome.status is PushStatus.UNAVAILABLE:
                    # Temporal retries the activity: the same queued rows, pushed again.
                    raise ApplicationError(outcome.error or "the CRM is unavailable")
                results = [RecordResult(r.row_id, CrmRowState.FAILED, error=outcome.error) for r in work.records]
                break
        except ConnectionBroken as exc:
            return CrmBatchResult(True, not_before, str(exc))
        except ConnectionError as exc:
            raise ApplicationError(f"the CRM's token endpoint failed: {exc}") from None
        async with unit_of_work(self.sessions) as session:
            await CrmExportService(session, self.settings).save_batch(work, results)
        return CrmBatchResult(done=False, not_before=not_before)

    @activity.defn(name=FINISH_CRM_RUN)
    async def finish_run(self, inp: CrmFinishInput) -> str:
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


async def start_unstarted_runs(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Start the workflow of queued runs whose after-commit start failed (Temporal was away)."""
    cutoff = datetime.now(UTC) - UNSTARTED_AFTER
    async with sessions() as session:
        runs = await CrmRepository(session).unstarted_runs(cutoff)
    started = 0
    for run in runs:
        async with sessions() as session:
            try:
                await CrmExportService(session, settings).start_workflow(client, run)
                started += 1
            except WorkflowAlreadyStartedError:
                continue
    return started
