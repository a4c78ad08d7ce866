"""Tables at 1,000,000 rows x 20 columns on real PostgreSQL: page queries, bulk update, live events.

Builds its own table (COPY through the storage layer, then the sort indexes), then prints:
- a 100-row page sorted by one column and filtered by another (p50/p95, with and without the
  total count), and the cost of a deep offset;
- a bulk update of 10,000 rows (cells, history and outbox, one transaction);
- live events: cell edits written at --rate per second by another process reach an SSE client
  connected to an API process (uvicorn) on this machine; delivery latency p50/p95 measured from
  the event's transaction time to its arrival.
Import and export figures belong to bench/imports.py (hooks: `build_table` and `scratch`).

    .venv/bin/python bench/tables.py [--rows 1000000] [--rate 1000] [--seconds 5]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A scratch database is created from the URL's server (migrations applied) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.auth.security import issue_access_token
from morket.core.config import Settings
from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.core.errors import Conflict
from morket.devstack import database
from morket.devstack.ports import free_port
from morket.models import ColumnType, TableColumn
from morket.tables.query import FilterCondition, FilterGroup, FilterOperator, RowView, SortDirection, SortKey
from morket.tables.schemas import ColumnCreate, RowPatch, TableCreate
from morket.tables.service import RowService, TableService
from morket.tables.storage import TableStorage

SECRET = "bench-secret-" + "x" * 40
KEY = "ab" * 32
LAYOUT = [ColumnType.TEXT] * 8 + [ColumnType.NUMBER] * 6 + [ColumnType.DATE] * 2
LAYOUT += [ColumnType.CHECKBOX] * 2 + [ColumnType.DATETIME, ColumnType.EMAIL]
WORDS = ["acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "wonka", "tyrell", "cyberdyne"]
CHUNK = 50_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _value(kind: ColumnType, rng: random.Random, i: int, c: int) -> Any:
    if rng.random() < 0.05:
        return None
    if kind is ColumnType.TEXT:
        return f"{rng.choice(WORDS)} {rng.randrange(100_000)}"
    if kind is ColumnType.NUMBER:
        return Decimal(rng.randrange(1_000_000))
    if kind is ColumnType.DATE:
        return date(2000, 1, 1) + timedelta(days=rng.randrange(9000))
    if kind is ColumnType.CHECKBOX:
        return rng.random() < 0.5
    if kind is ColumnType.DATETIME:
        return datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    return f"p{i}.{c}@{rng.choice(WORDS)}.com"


async def scratch_workspace(sessions: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, uuid.UUID]:
    workspace_id, user_id = uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(sessions) as session:
        await session.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, :email, 'x')"),
            {"id": user_id, "email": f"bench-{user_id.hex}@example.com"},
        )
        await session.execute(
            text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'bench', :slug)"),
            {"id": workspace_id, "slug": f"bench-{workspace_id.hex}"},
        )
        await session.execute(
            text("INSERT INTO memberships (workspace_id, user_id, role) VALUES (:w, :u, 'owner')"),
            {"w": workspace_id, "u": user_id},
        )
    return workspace_id, user_id


async def build_table(
    sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID, rows: int
) -> tuple[uuid.UUID, list[TableColumn]]:
    """A table of `rows` x 20 columns: COPY in chunks of 50,000, then the sort indexes."""
    async with unit_of_work(sessions) as session:
        out = await TableService(session).create_table(
            workspace_id,
            None,
            TableCreate(name="bench", columns=[ColumnCreate(name=f"c{i}", type=t) for i, t in enumerate(LAYOUT)]),
            index=False,
        )
        columns = await TableService(session).columns(workspace_id, out.id)
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        values = [[_value(c.type, rng, start + i, n) for n, c in enumerate(columns)] for i in range(count)]
        async with unit_of_work(sessions) as session:
            storage = TableStorage(session)
            ids = await storage.reserve_ids(out.id, count)
            await storage.copy_rows(out.id, columns, ids, values, None)
            await session.execute(
                text("UPDATE data_tables SET row_count = row_count + :n WHERE id = :id"), {"n": count, "id": out.id}
            )
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    async with unit_of_work(sessions) as session:
        await TableService(session).build_indexes(workspace_id, out.id)
    indexed = time.perf_counter() - started
    print(
        f"build: {rows:,} rows x {len(columns)} columns COPY {loaded:.1f} s ({rows / loaded:,.0f} rows/s), "
        f"{len([c for c in columns if c.type is not ColumnType.EMAIL])} indexes + ANALYZE {indexed:.1f} s"
    )
    return out.id, columns


async def bench_pages(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    columns: list[TableColumn],
    rows: int,
) -> None:
    number, other_number, word = columns[8], columns[9], columns[0]
    rng = random.Random(3)

    async def run(view: RowView, offset: int, count: bool) -> float:
        started = time.perf_counter()
        async with sessions() as session:
            rows, _ = await RowService(session).query(workspace_id, table_id, view, offset, 100, count=count)
        assert len(rows) == 100
        return (time.perf_counter() - started) * 1000

    cases = {
        "sort number desc, filter number > x": lambda: RowView(
            filter=FilterGroup(
                conditions=[
                    FilterCondition(column_id=other_number.id, operator=FilterOperator.GT, value=rng.randrange(900_000))
                ]
            ),
            sort=[SortKey(column_id=number.id, direction=SortDirection.DESC)],
        ),
        "sort number asc, filter text starts_with": lambda: RowView(
            filter=FilterGroup(
                conditions=[
                    FilterCondition(column_id=word.id, operator=FilterOperator.STARTS_WITH, value=rng.choice(WORDS))
                ]
            ),
            sort=[SortKey(column_id=number.id, direction=SortDirection.ASC)],
        ),
        "sort text asc, filter number between": lambda: RowView(
            filter=FilterGroup(
                conditions=[
                    FilterCondition(
                        column_id=number.id,
                        operator=FilterOperator.BETWEEN,
                        value=[(x := rng.randrange(500_000)), x + 200_000],
                    )
                ]
            ),
            sort=[SortKey(column_id=word.id)],
        ),
    }
    for name, make in cases.items():
        for count in (False, True):
            times = [await run(make(), rng.randrange(0, 1000), count) for _ in range(40)]
            print(
                f"page 100 rows, {name}, count={'yes' if count else 'no '}: "
                f"p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms"
            )
    view = RowView(sort=[SortKey(column_id=number.id)])
    for offset in (o for o in (10_000, 100_000, 500_000) if o + 100 <= rows):
        times = [await run(view, offset, False) for _ in range(5)]
        print(f"page 100 rows sorted, offset {offset:,}: p50 {pct(times, 0.5):.1f} ms")


async def bench_bulk_update(
    sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID, table_id: uuid.UUID, columns: list[TableColumn]
) -> None:
    rng = random.Random(5)
    text_col, number_col = columns[1], columns[10]
    times = []
    for attempt in range(3):
        first = 1 + attempt * 20_000
        patches = [
            RowPatch(id=row_id, cells={str(text_col.id): f"updated {row_id}", str(number_col.id): rng.randrange(10**6)})
            for row_id in range(first, first + 10_000)
        ]
        started = time.perf_counter()
        async with unit_of_work(sessions) as session:
            await RowService(session).update_rows(workspace_id, table_id, patches, actor_id=None)
        times.append(time.perf_counter() - started)
    print(
        f"bulk update 10,000 rows x 2 cells (history + outbox, one transaction): "
        f"{', '.join(f'{t:.2f}' for t in times)} s"
    )


async def writer(url: str, workspace: str, table: str, column: str, first: int, rate: int, seconds: float) -> None:
    """Run in another process: `rate` single-cell edits per second on distinct rows."""
    engine = make_engine(url, pool_size=16)
    sessions = make_sessionmaker(engine)
    workers = 16
    versions: dict[int, int] = {}
    done = 0
    started = time.perf_counter()

    async def work(k: int) -> None:
        nonlocal done
        i = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            target = elapsed * rate
            if done >= target:
                await asyncio.sleep(0.001)
                continue
            row_id = first + k + workers * (i % 2000)
            i += 1
            version = versions.get(row_id, 1)
            try:
                async with unit_of_work(sessions) as session:
                    await RowService(session).write_cell(
                        uuid.UUID(workspace),
                        uuid.UUID(table),
                        row_id,
                        uuid.UUID(column),
                        f"live {i}",
                        version,
                        actor_id=None,
                    )
            except Conflict as exc:  # the row was edited before (the bulk update): learn its version
                versions[row_id] = exc.details["current_version"]
                continue
            versions[row_id] = version + 1
            done += 1

    await asyncio.gather(*(work(k) for k in range(workers)))
    print(json.dumps({"written": done, "seconds": time.perf_counter() - started}), flush=True)
    await engine.dispose()


async def bench_live(
    url: str,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    table_id: uuid.UUID,
    columns: list[TableColumn],
    rate: int,
    seconds: float,
    first_row: int,
) -> None:
    settings = Settings(database_url=url, jwt_secret=SECRET, encryption_master_key=KEY)  # type: ignore[call-arg]
    token = issue_access_token(settings, user_id)
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        JWT_SECRET=SECRET,
        ENCRYPTION_MASTER_KEY=KEY,
        LOG_LEVEL="WARNING",
        RATE_LIMIT_GENERAL_PER_MINUTE="1000000",
    )
    api = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "morket.app:create_app", "--factory", "--port", str(port)),
        *("--log-level", "warning"),
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client:
            deadline = time.monotonic() + 300  # a loaded machine starts uvicorn slowly
            while True:
                try:
                    await client.get(f"{base}/api/v1/health")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            latencies: list[float] = []
            path = f"{base}/api/v1/workspaces/{workspace_id}/tables/{table_id}/events"
            async with client.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as response:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--writer",
                    json.dumps([url, str(workspace_id), str(table_id), str(columns[2].id), first_row, rate, seconds]),
                    stdout=asyncio.subprocess.PIPE,
                )

                async def receive() -> None:
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            event = json.loads(line[6:])
                            if event["type"] == "cell.updated":
                                created = datetime.fromisoformat(event["created_at"])
                                latencies.append((datetime.now(UTC) - created).total_seconds() * 1000)

                receiver = asyncio.create_task(receive())
                out, _ = await proc.communicate()
                result = json.loads(out.decode().strip().splitlines()[-1])
                wait_until = time.monotonic() + 10
                while len(latencies) < result["written"] and time.monotonic() < wait_until:
                    await asyncio.sleep(0.05)
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await receiver
        print(
            f"live: {result['written']:,} cell edits in {result['seconds']:.1f} s from another process "
            f"({result['written'] / result['seconds']:,.0f}/s); {len(latencies):,} delivered over SSE; "
            f"latency p50 {pct(latencies, 0.5):.0f} ms, p95 {pct(latencies, 0.95):.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        await asyncio.wait_for(api.wait(), 20)


async def main(url: str, rows: int, rate: int, seconds: float, live_only: bool) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        workspace_id, user_id = await scratch_workspace(sessions)
        table_id, columns = await build_table(sessions, workspace_id, rows)
        async with sessions() as session:
            size = (
                await session.execute(
                    text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": f"tabledata.t_{table_id.hex}"}
                )
            ).scalar_one()
        print(f"size on disk with indexes: {size}")
        if not live_only:
            await bench_pages(sessions, workspace_id, table_id, columns, rows)
            await bench_bulk_update(sessions, workspace_id, table_id, columns)
        await bench_live(url, workspace_id, user_id, table_id, columns, rate, seconds, rows // 2)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--live-only", action="store_true", help="only the SSE figure (needs >= 64,000 rows)")
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        asyncio.run(writer(*json.loads(args.writer)))
        sys.exit(0)
    scratch = database.with_database(args.database_url, f"morket_bench_tables_{os.getpid()}")
    database.ensure_database(scratch, drop_first=True)
    database.upgrade(scratch)
    try:
        asyncio.run(main(scratch, args.rows, args.rate, args.seconds, args.live_only))
    finally:
        asyncio.run(database.drop_database(scratch))
