"""Debits per second through CreditService on real PostgreSQL.

Every debit is one transaction: SELECT ... FOR UPDATE on the workspace's account row, the
idempotency lookup, one ledger INSERT, one account UPDATE, COMMIT. Clients debiting one workspace
queue on that row lock; spread over 64 workspaces they do not share a lock.

    .venv/bin/python bench/credits.py [--seconds 3] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A scratch database is created from the URL's server (migrations applied) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.credits.service import CreditService, DebitRequest
from morket.devstack import database

CLIENTS = (1, 8, 64)
BATCH = 50  # records x fields the enrichment engine debits per transaction
WORKSPACES = (1, 64)


@dataclass
class Outcome:
    clients: int
    workspaces: int
    debits: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.debits / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _make_workspaces(sessions: async_sessionmaker[AsyncSession], count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with unit_of_work(sessions) as session:
        for ws in ids:
            await session.execute(
                text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'bench', :slug)"),
                {"id": ws, "slug": f"bench-{ws.hex}"},
            )
            await CreditService(session).add(ws, 1_000_000_000, "bench funds")
    return ids


async def _run(
    sessions: async_sessionmaker[AsyncSession],
    workspaces: list[uuid.UUID],
    clients: int,
    seconds: float,
    batch: int = 1,
) -> Outcome:
    """Debits of 1 credit; with batch > 1, `debit_many` batches as the enrichment engine sends them."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    run_id = uuid.uuid4().hex[:8]
    job_id = uuid.uuid4()

    async def client(index: int) -> None:
        k = 0
        while time.perf_counter() < deadline:
            ws = workspaces[(index + k * clients) % len(workspaces)]
            started = time.perf_counter()
            async with unit_of_work(sessions) as session:
                if batch == 1:
                    await CreditService(session).debit(ws, 1, f"bench-{run_id}-{index}-{k}")
                else:
                    items = [DebitRequest(1, f"bench-{run_id}-{index}-{k}-{j}") for j in range(batch)]
                    await CreditService(session).debit_many(ws, job_id, items)
            latencies.append((time.perf_counter() - started) * 1000)
            k += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return Outcome(clients, len(workspaces), len(latencies) * batch, time.perf_counter() - started, latencies)


async def _check(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        bad = (
            await session.execute(
                text(
                    "SELECT count(*) FROM credit_accounts a WHERE a.balance <> "
                    "(SELECT coalesce(sum(amount), 0) FROM credit_transactions t WHERE t.workspace_id = a.workspace_id)"
                )
            )
        ).scalar_one()
    if bad:
        raise SystemExit(f"{bad} accounts disagree with their ledger")


async def main(url: str, seconds: float) -> None:
    engine = make_engine(url, pool_size=max(CLIENTS))
    sessions = make_sessionmaker(engine)
    try:
        pools = {n: await _make_workspaces(sessions, n) for n in WORKSPACES}
        await _run(sessions, pools[1], 8, 0.5)  # warm the pool and the caches
        print(f"{'clients':>7} {'workspaces':>10} {'debits':>7} {'debits/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
        for n_workspaces in WORKSPACES:
            for clients in CLIENTS:
                result = await _run(sessions, pools[n_workspaces], clients, seconds)
                print(
                    f"{clients:>7} {n_workspaces:>10} {result.debits:>7} {result.per_second:>9.0f} "
                    f"{result.percentile(0.5):>7.1f} {result.percentile(0.99):>7.1f}",
                    flush=True,
                )
        for clients in (1, 8):
            result = await _run(sessions, pools[1], clients, seconds, batch=BATCH)
            print(
                f"{clients:>7} {1:>10} {result.debits:>7} {result.per_second:>9.0f} "
                f"{result.percentile(0.5):>7.1f} {result.percentile(0.99):>7.1f}   debit_many, {BATCH} per batch",
                flush=True,
            )
        await _check(sessions)
        print("ledger check: every balance equals the sum of its ledger")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each scenario")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a server to create the scratch database on",
    )
    args = parser.parse_args()
    scratch = database.with_database(args.database_url, f"morket_bench_{os.getpid()}")
    database.ensure_database(scratch, drop_first=True)
    database.upgrade(scratch)
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.seconds:g} s per scenario")
        asyncio.run(main(scratch, args.seconds))
    finally:
        asyncio.run(database.drop_database(scratch))
