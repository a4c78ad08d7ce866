"""The analytics consumer against real PostgreSQL and chDB: once, in order, crashes, dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.capture import AnalyticsCapture
from morket.analytics.engine import AnalyticsEngine
from morket.analytics.ingest import AnalyticsSink, analytics_consumer, backfill, consumer_lag, replay_dead_letters
from morket.core.db import unit_of_work
from morket.credits.service import CreditService
from morket.enrichment.result import Attempt
from morket.models import OutboxEventType
from morket.outbox.consumer import OutboxConsumer
from morket.outbox.repository import StoredEvent
from morket.outbox.service import OutboxService
from tests.analytics.conftest import NewWorkspace, drain_all


class Crash(Exception):
    pass


@dataclass
class Job:
    id: uuid.UUID
    workspace_id: uuid.UUID
    status: str
    record_count: int = 10
    completed_count: int = 0
    failed_count: int = 0
    cancelled_count: int = 0
    credits_spent: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


async def _ledger(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[uuid.UUID, int, str, int]]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT workspace_id, seq, type::text, amount FROM credit_transactions ORDER BY seq")
        )
        return [(r[0], int(r[1]), r[2], int(r[3])) for r in rows]


async def _facts(ch: AnalyticsEngine) -> list[tuple[uuid.UUID, int, str, int]]:
    rows = await ch.query("SELECT workspace_id, seq, type, amount FROM credit_transactions ORDER BY seq")
    return [(r[0], int(r[1]), r[2], int(r[3])) for r in rows]


async def _purchases(sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID, n: int) -> None:
    for i in range(n):
        async with unit_of_work(sessions) as session:
            await CreditService(session).add(workspace_id, 10 + i, f"purchase {i}")


async def test_committed_events_arrive_once_in_order_after_a_crash_mid_batch(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    a, b = await new_workspace(), await new_workspace()
    await _purchases(sessions, a, 12)
    await _purchases(sessions, b, 7)
    sink = AnalyticsSink(fresh_ch, sessions)
    crashes = arrived = 0

    async def crash_after_insert(events: Sequence[StoredEvent]) -> None:
        # Part of the batch went in, then the process died before the position was committed.
        nonlocal crashes, arrived
        arrived = max(1, len(events) // 2)
        await sink.handle(events[:arrived])
        crashes += 1
        raise Crash

    crashing = OutboxConsumer("analytics", crash_after_insert, sessions, batch_size=8)
    with pytest.raises(Crash):
        await drain_all(crashing, sessions)
    assert crashes == 1
    assert len(await _facts(fresh_ch)) == arrived  # part of the first batch arrived before the crash

    # Restart: the same batch is read again; what arrived before the crash is not inserted twice.
    handled = await drain_all(analytics_consumer(fresh_ch, sessions, batch_size=8), sessions)
    assert handled == 19
    ledger = await _ledger(sessions)
    facts = await _facts(fresh_ch)
    assert facts == ledger
    # Once: no duplicate rows even without FINAL, and the rollups count each row once.
    dupes = await fresh_ch.query("SELECT seq, count() AS n FROM credit_transactions GROUP BY seq HAVING n > 1")
    assert dupes == []
    for workspace in (a, b):
        rollup = await fresh_ch.query(
            "SELECT sum(amount), sum(transactions) FROM credit_daily WHERE workspace_id = {ws:UUID}", {"ws": workspace}
        )
        mine = [row for row in ledger if row[0] == workspace]
        assert (int(rollup[0][0]), int(rollup[0][1])) == (sum(r[3] for r in mine), len(mine))
        # In order per key: within a workspace, later ledger rows came in later events.
        order = await fresh_ch.query(
            "SELECT seq, event_id FROM credit_transactions WHERE workspace_id = {ws:UUID} ORDER BY seq",
            {"ws": workspace},
        )
        event_ids = [int(r[1]) for r in order]
        assert event_ids == sorted(event_ids)
    lag = await consumer_lag(sessions)
    assert lag.pending_events == 0
    assert lag.seconds == 0.0


async def test_a_rolled_back_transaction_gives_no_event(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    async with sessions() as session:
        await CreditService(session).add(workspace, 500, "never committed")
        await session.rollback()
    await _purchases(sessions, workspace, 1)
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)
    assert [(r[2], r[3]) for r in await _facts(fresh_ch)] == [("purchase", 10)]
    assert await _ledger(sessions) == await _facts(fresh_ch)


async def test_dead_letters_and_replay(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    jobs = [Job(uuid.uuid4(), workspace, "queued") for _ in range(3)]
    async with unit_of_work(sessions) as session:
        for job in jobs:
            await AnalyticsCapture(session).job_status(job)
        await CreditService(session).add(workspace, 40, "beside the jobs")
        # An event whose payload cannot be read at all.
        await OutboxService(session).emit(workspace, OutboxEventType.JOB_LIFECYCLE, "broken", {"status": "queued"})
    # ClickHouse refuses the job facts for now (their table is gone).
    await fresh_ch.command("RENAME TABLE jobs TO jobs_away")
    try:
        await drain_all(analytics_consumer(fresh_ch, sessions), sessions)
    finally:
        await fresh_ch.command("RENAME TABLE jobs_away TO jobs")
    # The ledger row went in; the four job events are dead letters; the stream moved on.
    assert [(r[2], r[3]) for r in await _facts(fresh_ch)] == [("purchase", 40)]
    lag = await consumer_lag(sessions)
    assert (lag.pending_events, lag.dead_letters) == (0, 4)
    async with sessions() as session:
        result = await session.execute(text("SELECT aggregate_id, error FROM analytics_dead_letters"))
        errors = {str(r[0]): str(r[1]) for r in result}
    assert errors["broken"].startswith("unreadable payload")

    replayed, failing = await replay_dead_letters(fresh_ch, sessions)
    assert (replayed, failing) == (3, 1)
    rows = await fresh_ch.query("SELECT job_id, status FROM jobs FINAL")
    assert sorted(rows) == sorted((job.id, "queued") for job in jobs)
    daily = await fresh_ch.query("SELECT sum(jobs) FROM jobs_daily WHERE workspace_id = {ws:UUID}", {"ws": workspace})
    assert int(daily[0][0]) == 3
    # Replaying again changes nothing: the broken one still fails, nothing is inserted twice.
    assert await replay_dead_letters(fresh_ch, sessions) == (0, 1)
    assert int((await fresh_ch.query("SELECT count() FROM jobs"))[0][0]) == 3


async def test_backfill_rebuilds_from_postgresql_and_the_stream_continues(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    await _purchases(sessions, workspace, 5)
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)
    await fresh_ch.command("TRUNCATE TABLE credit_transactions")  # ClickHouse lost its data
    # A transaction open during the backfill commits after it: its row must come once, by the stream.
    async with sessions() as open_tx:
        await CreditService(open_tx).add(workspace, 1000, "committed after the backfill's snapshot")
        counts = await backfill(fresh_ch, sessions)
        await open_tx.commit()
    assert counts["credit_transactions"] == 5
    await _purchases(sessions, workspace, 2)
    assert await drain_all(analytics_consumer(fresh_ch, sessions), sessions) >= 3
    ledger = await _ledger(sessions)
    assert await _facts(fresh_ch) == ledger
    rollup = await fresh_ch.query("SELECT sum(amount), sum(transactions) FROM credit_daily")
    assert (int(rollup[0][0]), int(rollup[0][1])) == (sum(r[3] for r in ledger), 8)


async def test_the_enrichment_capture_carries_each_attempt(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace, job_id = await new_workspace(), uuid.uuid4()
    attempts = [
        (
            uuid.uuid4(),
            Attempt(
                "email", "hunter", "success" if i % 3 else "no_match", 2 if i % 3 else 0, i % 5 == 0, None, None, i
            ),
        )
        for i in range(2500)
    ]
    async with unit_of_work(sessions) as session:
        await AnalyticsCapture(session).enrichment_attempts(workspace, job_id, attempts)
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)
    row = await fresh_ch.query(
        "SELECT count(), sum(found), sum(cost), sum(cached), sum(latency_ms) FROM enrichment_attempts FINAL "
        "WHERE workspace_id = {ws:UUID}",
        {"ws": workspace},
    )
    expected = (
        len(attempts),
        sum(a.outcome == "success" for _, a in attempts),
        sum(a.cost for _, a in attempts),
        sum(a.cached for _, a in attempts),
        sum(a.duration_ms for _, a in attempts),
    )
    assert tuple(int(v) for v in row[0]) == expected
