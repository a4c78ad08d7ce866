"""Columns that compute, at 1,000,000 rows on real PostgreSQL (issue 10 goals):

- cost preview of an enrichment column (Apollo -> Hunter) over every row: goal <= 1 s;
- a formula column over every row, computed when it is added (parse, read, evaluate, write):
  goal <= 30 s.

    .venv/bin/python bench/columns.py [--rows 1000000] [--database-url postgresql://...]

A scratch database is created from the URL's server (migrations applied) and dropped afterwards.
The table is built inside the run (COPY through the storage layer), then measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.columns.schemas import RunRequest
from morket.columns.service import ColumnRunService
from morket.core.config import Settings
from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.devstack import database
from morket.models import ColumnKind, ColumnType
from morket.tables.schemas import ColumnCreate, TableCreate
from morket.tables.service import TableService
from morket.tables.storage import TableStorage

CHUNK = 50_000
FIRSTS = [
    "ada",
    "grace",
    "alan",
    "edsger",
    "barbara",
    "donald",
    "frances",
    "john",
    "radia",
    "ken",
]
FORMULA = 'IF({Domain} = "", "", UPPER(LEFT({First}, 1)) & "." & LOWER({Last}) & "@" & DOMAIN({Domain}))'


async def scratch_workspace(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
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
    return workspace_id


async def build(sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID, rows: int) -> uuid.UUID:
    spec = [
        ("First", ColumnType.TEXT),
        ("Last", ColumnType.TEXT),
        ("Domain", ColumnType.TEXT),
    ]
    async with unit_of_work(sessions) as session:
        out = await TableService(session).create_table(
            workspace_id,
            None,
            TableCreate(name="bench", columns=[ColumnCreate(name=n, type=t) for n, t in spec]),
        )
        columns = await TableService(session).columns(workspace_id, out.id)
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        values = [
            [
                rng.choice(FIRSTS).title(),
                f"Last{start + i}",
                None if rng.random() < 0.05 else f"co{start + i}.example.com",
            ]
            for i in range(count)
        ]
        async with unit_of_work(sessions) as session:
            storage = TableStorage(session)
            ids = await storage.reserve_ids(out.id, count)
            await storage.copy_rows(out.id, columns, ids, values, None)
    async with unit_of_work(sessions) as session:
        await session.execute(text(f"ANALYZE tabledata.t_{out.id.hex}"))
    print(f"build: {rows:,} rows COPY + ANALYZE {time.perf_counter() - started:.1f} s")
    return out.id


async def main(url: str, rows: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    settings = Settings(
        database_url=url,
        jwt_secret="bench-" + "k" * 40,
        encryption_master_key="ab" * 32,
    )
    try:
        workspace_id = await scratch_workspace(sessions)
        table_id = await build(sessions, workspace_id, rows)
        async with unit_of_work(sessions) as session:
            columns = {c.name: c.id for c in await TableService(session).columns(workspace_id, table_id)}
            config = {
                "field": "email",
                "waterfall": ["apollo", "hunter"],
                "inputs": {
                    "first_name": columns["First"],
                    "last_name": columns["Last"],
                    "domain": columns["Domain"],
                },
            }
            email = await TableService(session).add_column(
                workspace_id,
                table_id,
                ColumnCreate(
                    name="Email",
                    type=ColumnType.EMAIL,
                    kind=ColumnKind.ENRICHMENT,
                    config=config,
                ),
            )
        times = []
        for _ in range(3):
            started = time.perf_counter()
            async with sessions() as session:
                preview = await ColumnRunService(session, settings).preview(
                    workspace_id, table_id, RunRequest(column_ids=[email.id])
                )
            times.append(time.perf_counter() - started)
        col = preview.columns[0]
        print(
            f"cost preview, {rows:,} rows: {min(times):.2f} s best / {max(times):.2f} s worst of 3"
            f" (goal <= 1 s); rows {col.rows:,}, missing inputs {col.rows_missing_inputs:,},"
            f" worst case {preview.worst_case:,} credits"
        )
        started = time.perf_counter()
        async with unit_of_work(sessions) as session:
            await TableService(session).add_column(
                workspace_id,
                table_id,
                ColumnCreate(
                    name="Guess",
                    type=ColumnType.TEXT,
                    kind=ColumnKind.FORMULA,
                    config={"expression": FORMULA},
                ),
                index=False,
            )
        elapsed = time.perf_counter() - started
        print(f"formula column over {rows:,} rows: {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s; goal <= 30 s)")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    scratch = database.with_database(args.database_url, f"morket_bench_columns_{os.getpid()}")
    database.ensure_database(scratch, drop_first=True)
    database.upgrade(scratch)
    try:
        asyncio.run(main(scratch, args.rows))
    finally:
        asyncio.run(database.drop_database(scratch))
