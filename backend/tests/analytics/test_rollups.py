"""The materialized-view rollups equal a direct aggregation over the raw facts (random event streams)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import AnalyticsEngine
from morket.analytics.ingest import AnalyticsSink
from morket.models import OutboxEventType
from morket.outbox.repository import StoredEvent

_ids = itertools.count(10**12)
BASE = datetime(2026, 1, 1, tzinfo=UTC)

attempt = st.fixed_dictionaries(
    {
        "record_id": st.uuids().map(str),
        "field": st.sampled_from(["email", "phone", "company_name"]),
        "provider": st.sampled_from(["hunter", "apollo", "clearbit"]),
        "outcome": st.sampled_from(["success", "no_match", "no_value", "transient_error", "rate_limited"]),
        "cost": st.integers(0, 50),
        "cached": st.booleans(),
        "latency_ms": st.integers(0, 30_000),
    }
)
ledger_row = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["purchase", "debit", "refund", "auto_recharge", "adjustment"]),
        "amount": st.integers(-1000, 1000).filter(bool),
        "reserved_delta": st.just(0),
        "balance_after": st.integers(0, 10**6),
        "job_id": st.none() | st.uuids().map(str),
        "field": st.none() | st.sampled_from(["email", "phone"]),
        "key": st.none() | st.sampled_from(["j:r:email:hunter", "refund:j:r:phone:apollo", "other"]),
    }
)
scrape = st.fixed_dictionaries(
    {
        "record_id": st.uuids().map(str),
        "field": st.sampled_from(["company_description", "phone", "job_titles"]),
        "domain": st.sampled_from(["acme.com", "slow.io", ""]),
        "outcome": st.sampled_from(["success", "no_data", "refused", "blocked", "error"]),
        "fetched_with": st.sampled_from(["http", "browser", None]),
        "latency_ms": st.integers(0, 60_000),
    }
)
# Events spread over a few months (several partitions) and days; some events repeated (replays).
event = st.tuples(
    st.integers(0, 120),
    st.one_of(
        st.lists(attempt, min_size=1, max_size=8).map(lambda a: ("a", a)),
        st.lists(ledger_row, min_size=1, max_size=5).map(lambda r: ("c", r)),
        st.lists(scrape, min_size=1, max_size=6).map(lambda t: ("s", t)),
    ),
)


def _events(workspace: uuid.UUID, drawn: list[tuple[int, tuple[str, list[dict[str, Any]]]]]) -> list[StoredEvent]:
    events = []
    seq = itertools.count(next(_ids))
    for day, (kind, items) in drawn:
        created = BASE + timedelta(days=day, minutes=day * 7 % 1440)
        event_id = next(_ids)
        if kind == "a":
            payload: dict[str, Any] = {"job_id": str(uuid.uuid4()), "attempts": items}
            event_type = OutboxEventType.ENRICHMENT_ATTEMPTS
        elif kind == "s":
            payload = {"job_id": str(uuid.uuid4()), "tasks": items}
            event_type = OutboxEventType.SCRAPE_TASKS
        else:
            payload = {"rows": [{**r, "seq": next(seq), "created_at": created.isoformat()} for r in items]}
            event_type = OutboxEventType.CREDIT_TRANSACTIONS
        events.append(StoredEvent(event_id, event_id, workspace, None, event_type, str(workspace), payload, created))
    return events


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=st.lists(event, min_size=1, max_size=25), replay=st.lists(st.integers(0, 24), max_size=5))
async def test_rollups_equal_a_direct_aggregation(
    ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], drawn: Any, replay: list[int]
) -> None:
    workspace = uuid.uuid4()
    events = _events(workspace, drawn)
    sink = AnalyticsSink(ch, sessions)
    # In batches, with some batches delivered again (at-least-once delivery).
    assert await sink.insert(events[: len(events) // 2]) == []
    assert await sink.insert(events) == []
    again = [events[i] for i in replay if i < len(events)]
    assert await sink.insert(again) == []
    params = {"ws": workspace}
    rollup = await ch.query(
        "SELECT day, provider, field, sum(attempts), sum(found), sum(cached), sum(failed), sum(cost), sum(latency_ms) "
        "FROM enrichment_daily WHERE workspace_id = {ws:UUID} GROUP BY day, provider, field "
        "HAVING sum(attempts) > 0 ORDER BY day, provider, field",
        params,
    )
    direct = await ch.query(
        "SELECT toDate(ts) AS day, provider, field, count(), sum(found), sum(cached), "
        "countIf(outcome NOT IN ('success', 'no_match', 'no_value')), sum(cost), sum(latency_ms) "
        "FROM enrichment_attempts FINAL WHERE workspace_id = {ws:UUID} GROUP BY day, provider, field "
        "ORDER BY day, provider, field",
        params,
    )
    assert rollup == direct
    credit_rollup = await ch.query(
        "SELECT day, type, provider, sum(amount), sum(transactions) FROM credit_daily WHERE workspace_id = {ws:UUID} "
        "GROUP BY day, type, provider HAVING sum(transactions) > 0 ORDER BY day, type, provider",
        params,
    )
    credit_direct = await ch.query(
        "SELECT toDate(ts) AS day, type, provider, sum(amount), count() FROM credit_transactions FINAL "
        "WHERE workspace_id = {ws:UUID} GROUP BY day, type, provider ORDER BY day, type, provider",
        params,
    )
    assert credit_rollup == credit_direct
    scrape_rollup = await ch.query(
        "SELECT day, domain, sum(tasks), sum(succeeded), sum(no_data), sum(refused), sum(failed), sum(browser), "
        "sum(latency_ms) FROM scrape_daily WHERE workspace_id = {ws:UUID} GROUP BY day, domain "
        "HAVING sum(tasks) > 0 ORDER BY day, domain",
        params,
    )
    scrape_direct = await ch.query(
        "SELECT toDate(ts) AS day, domain, count(), countIf(outcome = 'success'), countIf(outcome = 'no_data'), "
        "countIf(outcome = 'refused'), countIf(outcome IN ('blocked', 'error')), countIf(fetched_with = 'browser'), "
        "sum(latency_ms) FROM scrape_tasks FINAL WHERE workspace_id = {ws:UUID} GROUP BY day, domain "
        "ORDER BY day, domain",
        params,
    )
    assert scrape_rollup == scrape_direct
    # And both equal the stream itself (each event counted once).
    attempts = sum(len(items) for _, (kind, items) in drawn if kind == "a")
    rows = sum(len(items) for _, (kind, items) in drawn if kind == "c")
    assert sum(int(r[3]) for r in rollup) == attempts
    assert sum(int(r[4]) for r in credit_rollup) == rows
    tasks = [t for _, (kind, items) in drawn if kind == "s" for t in items]
    assert sum(int(r[2]) for r in scrape_rollup) == len(tasks)
    assert sum(int(r[8]) for r in scrape_rollup) == sum(t["latency_ms"] for t in tasks)
