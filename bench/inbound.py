"""Inbound webhook tables benchmark: sustained rows/s into one table through its inbound URL.

    .venv/bin/python bench/inbound.py                      # 20 s per scenario
    .venv/bin/python bench/inbound.py --seconds 10 --concurrency 16

The API runs as in production (`morket api`, uvicorn, its own process, API_WORKERS=1 unless set)
on the PostgreSQL of the machine; this process is the sender. Scenarios, each for `--seconds`
against a fresh table:
- one row per POST, `--concurrency` senders (the Zapier/Segment shape; goal >= 100 rows/s);
- one row per POST with a dedupe key (upsert: half the posts repeat an earlier key);
- 100 rows per POST (a batching sender).
Each prints accepted rows/s, request latency p50/p99, non-201 answers, and checks that the table
holds exactly the rows the 201s reported (accepted means stored).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend" / "src"))

from morket.devstack import database  # noqa: E402
from morket.devstack.ports import free_port, port_open  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
MASTER_KEY = "cd" * 32
COLUMNS = [
    {"name": "email", "type": "email"},
    {"name": "company", "type": "text"},
    {"name": "title", "type": "text"},
    {"name": "employees", "type": "number"},
    {"name": "source", "type": "text"},
]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise SystemExit(f"nothing listens on port {port}")
        time.sleep(0.2)


def row(i: int) -> dict[str, Any]:
    return {
        "email": f"lead{i}@company{i % 997}.com",
        "company": f"Company {i % 997}",
        "title": "VP Sales",
        "employees": i % 5000,
        "source": "webinar",
        "utm_campaign": "q4",
    }


async def scenario(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    base: str,
    name: str,
    *,
    seconds: float,
    concurrency: int,
    batch: int,
    dedupe: bool,
) -> None:
    table = await client.post(f"{base}/tables", json={"name": name, "columns": COLUMNS}, headers=headers)
    assert table.status_code == 201, table.text
    table_id = table.json()["data"]["id"]
    email_col = table.json()["data"]["columns"][0]["id"]
    config: dict[str, Any] = {"rate_limit_per_minute": 1_000_000}
    if dedupe:
        config["key_column_id"] = email_col
    opened = await client.post(f"{base}/tables/{table_id}/inbound", json=config, headers=headers)
    assert opened.status_code == 201, opened.text
    path = opened.json()["data"]["path"]

    latencies: list[float] = []
    failures: dict[int, int] = {}
    inserted = updated = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal inserted, updated, counter
        while time.perf_counter() < deadline:
            start = counter
            counter += batch
            # With dedupe, every other post repeats a key sent earlier.
            ids = [(i // 2 if dedupe and i % 2 else i) for i in range(start, start + batch)]
            body: Any = row(ids[0]) if batch == 1 else [row(i) for i in ids]
            t0 = time.perf_counter()
            answer = await client.post(path, json=body)
            latencies.append(time.perf_counter() - t0)
            if answer.status_code != 201:
                failures[answer.status_code] = failures.get(answer.status_code, 0) + 1
                continue
            data = answer.json()["data"]
            inserted += data["inserted"]
            updated += data["updated"]

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    described = await client.get(f"{base}/tables/{table_id}", headers=headers)
    stored = described.json()["data"]["row_count"]
    accepted = inserted + updated
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{name}: {accepted / elapsed:,.0f} rows/s accepted ({len(latencies) / elapsed:,.0f} requests/s, "
        f"{concurrency} senders, {batch} row(s) a request, {elapsed:.1f} s); latency p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; non-201: {failures or 'none'}; "
        f"inserted {inserted:,}, updated {updated:,}, table holds {stored:,} "
        f"({'nothing lost' if stored == inserted else 'MISMATCH'})  [goal >= 100 rows/s]"
    )


async def run(args: argparse.Namespace, port: int) -> None:
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
        email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
        reg = await client.post("/api/v1/auth/register", json={"email": email, "password": "bench-password-1"})
        headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = (await client.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)).json()["data"]
        base = f"/api/v1/workspaces/{ws['id']}"
        common = {"seconds": args.seconds, "concurrency": args.concurrency}
        await scenario(client, headers, base, "one row a POST", batch=1, dedupe=False, **common)
        await scenario(client, headers, base, "one row a POST, dedupe key", batch=1, dedupe=True, **common)
        await scenario(client, headers, base, "100 rows a POST", batch=100, dedupe=False, **common)


def serve(db_url: str, state: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "MORKET_ENV": "development",
            "JWT_SECRET": SECRET,
            "ENCRYPTION_MASTER_KEY": MASTER_KEY,
            "LOG_LEVEL": "WARNING",
            "BCRYPT_ROUNDS": "4",
            "ACCESS_LOG": "false",
        }
    )
    with (state / "inbound-api.log").open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "morket.cli", "api", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_port(port)
    return api, port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    state = ROOT / ".morket" / "bench"
    state.mkdir(parents=True, exist_ok=True)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_url = database.with_database(server_url, f"morket_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(db_url, drop_first=True)
    database.upgrade(db_url)
    api, port = serve(db_url, state)
    try:
        asyncio.run(run(args, port))
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=20)
        asyncio.run(database.drop_database(db_url))


if __name__ == "__main__":
    main()
