"""Analytics on chDB: ingest rate from the outbox, freshness under steady load, dashboard query latency.

    .venv/bin/python bench/analytics.py ingest     [--events 200000]   # outbox -> chDB, events/s
    .venv/bin/python bench/analytics.py freshness  [--rate 1000 --seconds 30]
    .venv/bin/python bench/analytics.py queries    [--facts 10000000 --workspaces 100 --runs 40]

Each run creates a scratch PostgreSQL database on --database-url's server (migrations applied,
dropped afterwards) and a chDB directory in a temporary folder (removed afterwards).

- ingest: N outbox events written with one INSERT ... SELECT, then timed while the analytics
  consumer drains them into chDB in micro-batches (the product's AnalyticsConsumer, --batch).
  Two shapes: one ledger row per event (events/s = facts/s), and enrichment write batches of
  50 attempts per event (facts/s is 50x events/s). Also printed: the CPU seconds this process
  used (chDB runs in it; PostgreSQL's share is in its own processes), which moves less than the
  wall time on a shared machine.
- freshness: a writer commits ledger events at --rate per second (10 per transaction) while the
  consumer follows the outbox with LISTEN/NOTIFY (as in the API process); a reader polls chDB
  every 50 ms for new event ids; freshness = first seen in chDB - commit returned.
- queries: --facts enrichment attempts and a tenth as many ledger rows over 365 days for
  --workspaces workspaces, generated inside chDB (INSERT ... SELECT FROM numbers(); the
  materialized views fill the rollups as they would from the consumer), then each report of the
  API service (enrichment, credits with its forecast, jobs) for one workspace over 365 days.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import AnalyticsEngine
from morket.analytics.ingest import analytics_consumer, consumer_lag
from morket.analytics.service import AnalyticsService, date_range
from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.devstack import database


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _workspace(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    ws = uuid.uuid4()
    async with unit_of_work(sessions) as session:
        await session.execute(
            text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'bench', :slug)"),
            {"id": ws, "slug": f"bench-{ws.hex}"},
        )
    return ws


_LEDGER_EVENT = (
    "jsonb_build_object('rows', jsonb_build_array(jsonb_build_object('seq', g, 'type', 'debit', 'amount', -1 - g % 5,"
    " 'reserved_delta', 0, 'balance_after', 1000000, 'job_id', CAST(:job AS text), 'field', 'email',"
    " 'key', CAST(:job AS text) || '\\:r' || g || '\\:email\\:hunter', 'created_at', now())))"
)
_ATTEMPTS_EVENT = (
    "jsonb_build_object('job_id', CAST(:job AS text), 'attempts', (SELECT jsonb_agg(jsonb_build_object('record_id', "
    "gen_random_uuid(), 'field', (ARRAY['email','phone','company_name'])[1 + (g + i) % 3], 'provider', "
    "(ARRAY['hunter','apollo','clearbit'])[1 + i % 3], 'outcome', (ARRAY['success','no_match','transient_error'])"
    "[1 + (g * i) % 3], 'cost', i % 4, 'cached', i % 7 = 0, 'latency_ms', 20 + i)) FROM generate_series(1, 50) i))"
)


async def _fill_outbox(sessions: async_sessionmaker[AsyncSession], ws: uuid.UUID, events: int, shape: str) -> None:
    payload, kind = (
        (_LEDGER_EVENT, "credit.transactions") if shape == "ledger" else (_ATTEMPTS_EVENT, "enrichment.attempts")
    )
    step = 50_000
    for start in range(0, events, step):
        async with unit_of_work(sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO outbox_events (workspace_id, event_type, aggregate_id, payload) "
                    f"SELECT :ws, :kind, :agg, {payload} FROM generate_series(CAST(:a AS int), CAST(:b AS int)) g"
                ),
                {
                    "ws": ws,
                    "agg": str(ws),
                    "kind": kind,
                    "job": str(uuid.uuid4()),
                    "a": start + 1,
                    "b": min(events, start + step),
                },
            )


async def _warm_up(ch: AnalyticsEngine) -> None:
    """The first insert of a process costs seconds in chDB (engine start-up); the API pays it once."""
    await ch.command(
        "INSERT INTO jobs (workspace_id, ts, event_id, job_id, kind, status) "
        "SELECT generateUUIDv4(), now64(3), 0, generateUUIDv4(), 'warm', 'up'"
    )
    await ch.command("TRUNCATE TABLE jobs")
    await ch.command("TRUNCATE TABLE jobs_daily")


async def ingest(url: str, ch: AnalyticsEngine, events: int, batch: int) -> None:
    engine = make_engine(url, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        ws = await _workspace(sessions)
        await _warm_up(ch)
        for shape, count in (("ledger", events), ("attempts", max(1, events // 50))):
            await _fill_outbox(sessions, ws, count, shape)
            async with unit_of_work(sessions) as session:
                # A long-lived outbox has statistics; a table filled a second ago does not, and the
                # planner would sort the whole backlog instead of walking the (xid, id) index.
                await session.execute(text("ANALYZE outbox_events"))
            consumer = analytics_consumer(ch, sessions, batch_size=batch)
            started, cpu = time.perf_counter(), time.process_time()
            handled = await consumer.drain()
            while (await consumer_lag(sessions)).pending_events:
                handled += await consumer.drain()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            table = "credit_transactions" if shape == "ledger" else "enrichment_attempts"
            facts = int((await ch.query(f"SELECT count() FROM {table}"))[0][0])
            print(
                f"ingest[{shape}, batch {batch}]: {handled} outbox events, {facts} facts in {seconds:.2f} s -> "
                f"{handled / seconds:,.0f} events/s, {facts / seconds:,.0f} facts/s (goal >= 50,000 events/s); "
                f"this process {cpu:.2f} CPU s ({handled / cpu:,.0f} events per CPU second)"
            )
    finally:
        await engine.dispose()


async def freshness(url: str, ch: AnalyticsEngine, rate: int, seconds: float) -> None:
    engine = make_engine(url, pool_size=8)
    sessions = make_sessionmaker(engine)
    try:
        ws = await _workspace(sessions)
        committed: dict[int, float] = {}
        seen: dict[int, float] = {}
        stop = asyncio.Event()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        consumer = asyncio.create_task(analytics_consumer(ch, sessions, batch_size=5000).run(stop, listen_dsn=dsn))
        per_tx = 10
        interval = per_tx / rate

        async def writer() -> None:
            start = time.perf_counter()
            n = 0
            seq = 0
            while time.perf_counter() - start < seconds:
                async with unit_of_work(sessions) as session:
                    rows = await session.execute(
                        text(
                            "INSERT INTO outbox_events (workspace_id, event_type, aggregate_id, payload) "
                            f"SELECT :ws, 'credit.transactions', :agg, {_LEDGER_EVENT} "
                            "FROM generate_series(CAST(:a AS int), CAST(:b AS int)) g RETURNING id"
                        ),
                        {"ws": ws, "agg": str(ws), "job": str(uuid.uuid4()), "a": seq + 1, "b": seq + per_tx},
                    )
                    ids = [int(r[0]) for r in rows]
                    await session.execute(text("SELECT pg_notify('morket_outbox', '')"))
                now = time.perf_counter()
                for i in ids:
                    committed[i] = now
                seq += per_tx
                n += 1
                delay = start + n * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)

        async def reader() -> None:
            last = 0
            while not stop.is_set() or len(seen) < len(committed):
                rows = await ch.query(
                    "SELECT event_id FROM credit_transactions "
                    "WHERE workspace_id = {ws:UUID} AND event_id > {last:UInt64}",
                    {"ws": ws, "last": last},
                )
                now = time.perf_counter()
                for (event_id,) in rows:
                    seen.setdefault(int(event_id), now)
                    last = max(last, int(event_id))
                if stop.is_set() and time.perf_counter() > drain_deadline:
                    break
                await asyncio.sleep(0.05)

        drain_deadline = float("inf")
        reading = asyncio.create_task(reader())
        await writer()
        drain_deadline = time.perf_counter() + 60
        while len(seen) < len(committed) and time.perf_counter() < drain_deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await reading
        await consumer
        lags = [seen[i] - committed[i] for i in committed if i in seen]
        missing = len(committed) - len(lags)
        achieved = len(committed) / seconds
        print(
            f"freshness: {len(committed)} events at {achieved:,.0f}/s for {seconds:.0f} s; "
            f"p50 {pct(lags, 0.5):.2f} s, p95 {pct(lags, 0.95):.2f} s, max {max(lags):.2f} s, "
            f"{missing} not seen (goal p95 <= 10 s)"
        )
    finally:
        await engine.dispose()


async def queries(url: str, ch: AnalyticsEngine, facts: int, workspaces: int, runs: int) -> None:
    engine = make_engine(url, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        target = await _workspace(sessions)
        others = [uuid.uuid4() for _ in range(workspaces - 1)]
        ids = ",".join(f"toUUID('{w}')" for w in [target, *others])
        today = datetime.now(UTC).date()
        start = time.perf_counter()
        await ch.command(
            "INSERT INTO enrichment_attempts SELECT "
            f"[{ids}][1 + number % {workspaces}] AS workspace_id, "
            "toDateTime64(now() - (number * 7919) % (365 * 86400), 3, 'UTC') AS ts, number + 1 AS event_id, 0 AS item, "
            "generateUUIDv4() AS job_id, generateUUIDv4() AS record_id, "
            "['email','phone','company_name','industry','title'][1 + intHash32(number) % 5] AS field, "
            "['hunter','apollo','clearbit','openai','scraper'][1 + intHash32(number + 1) % 5] AS provider, "
            "['success','no_match','no_value','transient_error'][1 + intHash32(number + 2) % 4] AS outcome, "
            "outcome = 'success' AS found, if(found, 1 + number % 5, 0) AS cost, number % 7 = 0 AS cached, "
            f"20 + number % 900 AS latency_ms FROM numbers({facts})"
        )
        await ch.command(
            "INSERT INTO credit_transactions SELECT "
            f"[{ids}][1 + number % {workspaces}], toDateTime64(now() - (number * 7919) % (365 * 86400), 3, 'UTC'), "
            f"number + 1, {facts} + number + 1, if(number % 50 = 0, 'purchase', 'debit'), "
            "if(number % 50 = 0, 1000, -1 - toInt64(number % 5)), 0, 1000000, generateUUIDv4(), 'email', "
            f"['hunter','apollo','clearbit','openai','scraper'][1 + intHash32(number) % 5] FROM numbers({facts // 10})"
        )
        build = time.perf_counter() - start
        rows = int((await ch.query("SELECT count() FROM enrichment_attempts"))[0][0])
        print(
            f"queries: built {rows:,} attempts + {facts // 10:,} ledger rows "
            f"for {workspaces} workspaces in {build:.1f} s"
        )
        window = date_range(today - timedelta(days=364), today, "day")
        async with sessions() as session:
            service = AnalyticsService(ch, session)
            for name, call in (
                ("enrichment", service.enrichment),
                ("credits", service.credits),
                ("jobs", service.jobs),
            ):
                await call(target, window)  # warm
                timings = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    await call(target, window)
                    timings.append((time.perf_counter() - t0) * 1000)
                print(
                    f"queries[{name}, 365 days by day, 1 of {workspaces} workspaces]: p50 "
                    f"{statistics.median(timings):.1f} ms, p95 {pct(timings, 0.95):.1f} ms (goal p95 <= 200 ms)"
                )
            weekly = date_range(today - timedelta(days=89), today, "week")
            timings = []
            for _ in range(runs):
                t0 = time.perf_counter()
                await service.enrichment(target, weekly)
                timings.append((time.perf_counter() - t0) * 1000)
            print(
                f"queries[enrichment, 90 days by week]: p50 {statistics.median(timings):.1f} ms, "
                f"p95 {pct(timings, 0.95):.1f} ms"
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["ingest", "freshness", "queries"])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20000, help="events per consumer batch (ANALYTICS_BATCH_SIZE)")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--facts", type=int, default=10_000_000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    scratch = database.with_database(args.database_url, f"morket_bench_analytics_{os.getpid()}")
    database.ensure_database(scratch, drop_first=True)
    database.upgrade(scratch)
    folder = tempfile.mkdtemp(prefix="morket-bench-chdb-")
    try:
        ch = AnalyticsEngine(f"chdb://{folder}")
        ch.ensure_schema_sync()
        url = scratch
        if args.what == "ingest":
            asyncio.run(ingest(url, ch, args.events, args.batch))
        elif args.what == "freshness":
            asyncio.run(freshness(url, ch, args.rate, args.seconds))
        else:
            asyncio.run(queries(url, ch, args.facts, args.workspaces, args.runs))
    finally:
        asyncio.run(database.drop_database(scratch))
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
