"""What one one-row edit costs, by process: the writer (Python), its PostgreSQL backend, the search consumer.

Runs on a kept search corpus (bench/search.py --keep-database NAME builds one; use a copy of your
own: the edits change titles). One writer connection and one consumer connection, so each has one
PostgreSQL backend whose CPU is read from /proc/<pid>/stat before and after (10 ms ticks: summed
over --edits calls). Statements are counted on the client: SQLAlchemy's (`before_cursor_execute`)
plus those sent on the asyncpg connection directly (its query logger; BEGIN and COMMIT included).

- writer: --edits sequential calls of `RowService.update_rows` with one row (the freshness bench's
  and a grid paste's path) and of `RowService.write_cell` (the API's cell edit); per call: wall
  time, the process's CPU, the backend's CPU, statements, and the statements of one call;
- consumer: the search consumer handling those edits' events, one event per batch (a consumer
  that keeps up with single edits) and --batch events per batch; per event: wall, CPU, backend CPU.

    .venv/bin/python bench/edit_cost.py --database morket_bench_search_1m_fresh [--edits 300] [--batch 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.devstack import database
from morket.search.backends.postgres import PostgresSearchBackend
from morket.search.indexer import search_consumer
from morket.tables.schemas import RowPatch
from morket.tables.service import RowService, TableService

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the PostgreSQL backend `pid` has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Probe:
    """One engine of one connection: its backend's pid and the statements sent on it."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    pid: int
    statements: Counter[str]

    @classmethod
    async def open(cls, url: str) -> Probe:
        engine = make_engine(url, pool_size=1, max_overflow=0)
        statements: Counter[str] = Counter()

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements[_label(statement)] += 1

        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            raw.add_query_logger(lambda record: statements.update([_label(record.query)]))
        statements.clear()
        return cls(engine, make_sessionmaker(engine), int(pid), statements)

    async def measure(self, label: str, count: int, unit: str, step: Callable[[int], Awaitable[int]]) -> None:
        """Run `step(i)` until it has done `count` units; print the cost per unit."""
        self.statements.clear()
        await asyncio.sleep(0)
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu(self.pid)
        done = i = 0
        while done < count:
            done += await step(i)
            i += 1
        await asyncio.sleep(0)  # the query logger's callbacks run soon after each statement
        wall, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, backend_cpu(self.pid) - pg
        n = max(1, done)
        print(
            f"{label}: {done} {unit}s in {i} calls, per {unit}: wall {wall / n * 1000:.2f} ms, "
            f"Python CPU {cpu / n * 1000:.2f} ms, PostgreSQL backend CPU {pg / n * 1000:.2f} ms, "
            f"statements {sum(self.statements.values()) / n:.1f}",
            flush=True,
        )
        for statement, times in self.statements.most_common():
            print(f"    {times / n:5.2f} x {statement}")


def _label(statement: str) -> str:
    return " ".join(statement.split())[:110]


async def corpus(sessions: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, int]:
    async with sessions() as session:
        found = (
            await session.execute(
                text(
                    "SELECT t.workspace_id, t.id, t.row_count FROM data_tables t "
                    "WHERE t.name = 'Prospects' AND t.deleted_at IS NULL ORDER BY t.created_at DESC LIMIT 1"
                )
            )
        ).one()
        columns = await TableService(session).columns(found.workspace_id, found.id)
    title = next(c for c in columns if c.name == "Title")
    return found.workspace_id, found.id, title.id, int(found.row_count)


async def main(url: str, edits: int, batch: int) -> None:
    writer = await Probe.open(url)
    consumer_probe = await Probe.open(url)
    try:
        workspace_id, table_id, title, rows = await corpus(writer.sessions)
        rng = random.Random(11)
        run = secrets.token_hex(3)  # new values in every run: an unchanged cell is not written at all
        consumer = search_consumer(consumer_probe.sessions, PostgresSearchBackend)
        await consumer.drain()  # start from an empty backlog
        key = str(title)

        async def one_row(i: int) -> int:
            async with unit_of_work(writer.sessions) as session:
                patch = RowPatch(id=rng.randrange(1, rows + 1), cells={key: f"cost{run}x{i}"})
                await RowService(session).update_rows(workspace_id, table_id, [patch], actor_id=None)
            return 1

        # write_cell needs the row's version (the grid has it): read before the clock starts.
        cell_rows = rng.sample(range(1, rows + 1), edits + 20)
        async with writer.sessions() as session:
            found = await session.execute(
                text(f"SELECT _id, _version FROM tabledata.t_{table_id.hex} WHERE _id = ANY(:ids)"), {"ids": cell_rows}
            )
            versions = {int(r[0]): int(r[1]) for r in found}

        async def cell(i: int) -> int:
            row_id = cell_rows[i % len(cell_rows)]
            async with unit_of_work(writer.sessions) as session:
                out = await RowService(session).write_cell(
                    workspace_id, table_id, row_id, title, f"cell{run}x{i}", versions[row_id], actor_id=None
                )
            versions[row_id] = out.version
            return 1

        for warm in range(20):
            await one_row(warm)
        await consumer.drain()
        await writer.measure("writer: update_rows, one row per call", edits, "edit", one_row)
        consumer.batch_size = 1
        await consumer_probe.measure("consumer: one event per batch", edits, "event", lambda _: consumer.run_once())
        for warm in range(edits, edits + 20):
            await cell(warm)
        await writer.measure("writer: write_cell (the API's cell edit), one cell per call", edits, "edit", cell)
        consumer.batch_size = batch
        await consumer_probe.measure(
            f"consumer: up to {batch} events per batch", edits + 20, "event", lambda _: consumer.run_once()
        )
        await consumer_probe.measure("consumer: nothing to do (a wake-up with no event)", 50, "call", _idle(consumer))
    finally:
        await writer.engine.dispose()
        await consumer_probe.engine.dispose()


def _idle(consumer: Any) -> Callable[[int], Awaitable[int]]:
    async def step(_: int) -> int:
        await consumer.run_once()
        return 1

    return step


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a kept search corpus (a copy: titles are edited)")
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    scratch = database.with_database(args.database_url, args.database)
    database.upgrade(scratch)
    asyncio.run(main(scratch, args.edits, args.batch))
