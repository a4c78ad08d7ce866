"""The consumer's fast path (JSON lines from PostgreSQL read by ClickHouse, no Python per event)
against real PostgreSQL and chDB: the same facts as the Python path, once after a replay, bad
payloads dead-lettered beside good ones, and the batch read ahead dropped when another consumer
moved the position."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import AnalyticsEngine
from morket.analytics.facts import COLUMNS, rows_of
from morket.analytics.ingest import AnalyticsConsumer, consumer_lag
from morket.core.db import unit_of_work
from morket.credits.service import CreditService
from morket.models import OutboxEventType
from morket.outbox.repository import OutboxRepository, Position
from morket.outbox.service import OutboxService
from tests.analytics.conftest import NewWorkspace, drain_all
from tests.analytics.test_rollups import attempt, ledger_row, scrape
from tests.credits.conftest import insert_workspace

_seq = itertools.count(10**9)
# Ledger timestamps as the capture writes them, and a few other spellings ClickHouse must read alike.
moment = st.sampled_from(
    [
        None,
        "2026-01-31T23:59:59.999999+00:00",
        "2026-02-01T00:00:00.0005+00:00",
        "2026-03-10T10:11:12.345678+02:00",
        "2026-04-01T08:00:00",
    ]
)
event = st.one_of(
    st.lists(attempt, min_size=1, max_size=6).map(lambda a: (OutboxEventType.ENRICHMENT_ATTEMPTS, a)),
    st.tuples(st.lists(ledger_row, min_size=1, max_size=4), moment).map(
        lambda r: (OutboxEventType.CREDIT_TRANSACTIONS, [{**row, "created_at": r[1]} for row in r[0]])
    ),
    st.lists(scrape, min_size=1, max_size=5).map(lambda t: (OutboxEventType.SCRAPE_TASKS, t)),
)
_CH_VALUES = {
    # The fact columns as facts.py spells them (UUIDs as text, timestamps in milliseconds).
    "workspace_id": "toString(workspace_id)",
    "ts": "toUnixTimestamp64Milli(ts)",
    "job_id": "if(isNull(job_id), NULL, toString(job_id))",
    "record_id": "toString(record_id)",
}


def _payload(kind: OutboxEventType, items: list[dict[str, Any]]) -> dict[str, Any]:
    if kind == OutboxEventType.ENRICHMENT_ATTEMPTS:
        return {"job_id": str(uuid.uuid4()), "attempts": items}
    if kind == OutboxEventType.SCRAPE_TASKS:
        return {"job_id": str(uuid.uuid4()), "tasks": items}
    return {"rows": [{**r, "seq": next(_seq)} for r in items]}


async def _facts(ch: AnalyticsEngine, table: str, workspace: uuid.UUID) -> list[list[Any]]:
    columns = ", ".join(_CH_VALUES.get(c, c) for c in COLUMNS[table])
    rows = await ch.query(f"SELECT {columns} FROM {table} WHERE workspace_id = {{ws:UUID}}", {"ws": workspace})
    return sorted(([*r] for r in rows), key=repr)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=st.lists(event, min_size=1, max_size=12), batch=st.integers(1, 8))
async def test_the_fast_path_writes_the_facts_the_python_path_builds(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], drawn: Any, batch: int
) -> None:
    ch = fresh_ch
    async with unit_of_work(sessions) as session:
        workspace = await insert_workspace(session)
        for kind, items in drawn:
            await OutboxService(session).emit(workspace, kind, str(workspace), _payload(kind, items))
    consumer = AnalyticsConsumer(ch, sessions, batch_size=batch)
    await drain_all(consumer, sessions)
    assert consumer.sink.fallbacks == 0
    async with sessions() as session:
        stream = await OutboxRepository(session).read(Position(0, 0), 100_000)
    events = [e for e in stream if e.workspace_id == workspace]
    expected: dict[str, list[list[Any]]] = {}
    for e in events:
        found = rows_of(e)
        assert found is not None
        expected.setdefault(found[0], []).extend(found[1])
    for table in ("enrichment_attempts", "credit_transactions", "scrape_tasks"):
        want = sorted(([*r] for r in expected.get(table, [])), key=repr)
        assert await _facts(ch, table, workspace) == want, table


async def _purchases(sessions: async_sessionmaker[AsyncSession], workspace: uuid.UUID, n: int) -> None:
    for i in range(n):
        async with unit_of_work(sessions) as session:
            await CreditService(session).add(workspace, 10 + i, f"purchase {i}")


async def _all_readable(sessions: async_sessionmaker[AsyncSession], n: int) -> None:
    """Wait until n events are readable: another test database's open transaction holds them back
    (docs/outbox.md), and this test counts events per batch."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        async with sessions() as session:
            readable = await session.scalar(
                text("SELECT count(*) FROM outbox_events WHERE xid < pg_snapshot_xmin(pg_current_snapshot())")
            )
        if readable == n:
            return
        assert asyncio.get_running_loop().time() < deadline, "the events did not become readable"
        await asyncio.sleep(0.02)


async def _once(ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The facts equal the ledger, without duplicates, and the rollups count each row once."""
    async with sessions() as session:
        ledger = [
            (int(r[0]), int(r[1]))
            for r in await session.execute(text("SELECT seq, amount FROM credit_transactions ORDER BY seq"))
        ]
    facts = await ch.query("SELECT seq, amount FROM credit_transactions ORDER BY seq")
    assert [(int(r[0]), int(r[1])) for r in facts] == ledger
    rollup = await ch.query("SELECT sum(amount), sum(transactions) FROM credit_daily")
    assert (int(rollup[0][0]), int(rollup[0][1])) == (sum(r[1] for r in ledger), len(ledger))


async def test_a_batch_inserted_before_a_crash_is_not_inserted_twice(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    await drain_all(AnalyticsConsumer(fresh_ch, sessions), sessions)  # whatever came before
    start = (await consumer_lag(sessions)).position or Position(0, 0)
    await _purchases(sessions, workspace, 9)
    consumer = AnalyticsConsumer(fresh_ch, sessions, batch_size=4)
    await drain_all(consumer, sessions)
    assert consumer.sink.fallbacks == 0
    # The inserts happened, the positions were never committed (the process died before).
    async with unit_of_work(sessions) as session:
        await OutboxRepository(session).save_consumer("analytics", start)
    await _purchases(sessions, workspace, 3)
    again = AnalyticsConsumer(fresh_ch, sessions, batch_size=4)
    assert await drain_all(again, sessions) == 12
    assert again.sink.fallbacks >= 1  # the replayed batches went event by event
    await _once(fresh_ch, sessions)


async def test_a_bad_payload_is_a_dead_letter_and_its_batch_still_arrives(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    await _purchases(sessions, workspace, 2)
    async with unit_of_work(sessions) as session:
        outbox = OutboxService(session)
        row = {"seq": 1, "type": "debit", "reserved_delta": 0, "balance_after": 0, "job_id": None, "field": None}
        await outbox.emit(workspace, OutboxEventType.CREDIT_TRANSACTIONS, "null", {"rows": [{**row, "amount": None}]})
        await outbox.emit(workspace, OutboxEventType.CREDIT_TRANSACTIONS, "text", {"rows": [{**row, "amount": "x"}]})
        attempt = {"record_id": "not a uuid", "field": "email", "provider": "hunter", "outcome": "success"}
        await outbox.emit(
            workspace,
            OutboxEventType.ENRICHMENT_ATTEMPTS,
            "uuid",
            {"job_id": str(uuid.uuid4()), "attempts": [{**attempt, "cost": 1, "cached": False, "latency_ms": 5}]},
        )
    await _purchases(sessions, workspace, 2)
    consumer = AnalyticsConsumer(fresh_ch, sessions)
    assert await drain_all(consumer, sessions) == 7
    assert consumer.sink.fallbacks == 1
    await _once(fresh_ch, sessions)
    assert int((await fresh_ch.query("SELECT count() FROM enrichment_attempts"))[0][0]) == 0
    async with sessions() as session:
        dead = {r[0] for r in await session.execute(text("SELECT aggregate_id FROM analytics_dead_letters"))}
    assert dead == {"null", "text", "uuid"}
    assert (await consumer_lag(sessions)).dead_letters == 3


async def test_the_batch_read_ahead_is_dropped_when_another_consumer_moved_on(
    fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    workspace = await new_workspace()
    await _purchases(sessions, workspace, 14)
    await _all_readable(sessions, 14)
    first = AnalyticsConsumer(fresh_ch, sessions, batch_size=4)
    second = AnalyticsConsumer(fresh_ch, sessions, batch_size=4)
    assert await first.run_once() == 4  # and reads events 5-8 ahead
    assert first._ahead is not None
    assert await second.run_once() == 4  # another instance handles events 5-8
    assert await first.run_once() == 4  # its read ahead is stale: it reads 9-12 again
    assert await drain_all(first, sessions) + await drain_all(second, sessions) == 2
    await _once(fresh_ch, sessions)
    assert first.sink.fallbacks == second.sink.fallbacks == 0
