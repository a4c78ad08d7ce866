"""Does the API keep answering while a large enrichment job is posted?

Starts the API (`morket api`, its own process) on a scratch database with a Temporal dev server,
then polls /api/v1/health every 10 ms on its own connection: first alone (baseline), then while
one client posts a job of N records (default 100,000, the JSON maximum). Prints the health
latency percentiles of both phases, their ratio, and how long the job POST took. The goal is a
health p99 under 250 ms during the POST (issue 8, item 9).

    .venv/bin/python bench/large_requests.py [--records 100000] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

import httpx

from morket.devstack import database
from morket.devstack.ports import free_port, port_open
from morket.devstack.temporal import TemporalDevServer


def _records(n: int) -> list[dict[str, str]]:
    return [{"first_name": "Ada", "last_name": f"Lovelace{i}", "domain": f"bench{i}.example.com"} for i in range(n)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _poll_health(http: httpx.AsyncClient, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        response = await http.get("/api/v1/health")
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.01)


async def _measure(url: str, records: int, baseline_seconds: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600) as http, httpx.AsyncClient(base_url=url) as health:
        email = f"bench-{secrets.token_hex(4)}@example.com"
        reg = await http.post("/api/v1/auth/register", json={"email": email, "password": "bench-pass-1", "name": "B"})
        headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = (await http.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)).json()["data"]["id"]
        funded = await http.post(
            f"/api/v1/workspaces/{ws}/billing/credits",
            json={"amount": 100_000_000, "description": "bench"},
            headers=headers,
        )
        assert funded.status_code == 201, funded.text
        body = json.dumps({"records": _records(records), "fields": ["company_name"]}).encode()

        stop = asyncio.Event()
        baseline: list[float] = []
        poller = asyncio.create_task(_poll_health(health, stop, baseline))
        await asyncio.sleep(baseline_seconds)
        stop.set()
        await poller

        stop = asyncio.Event()
        during: list[float] = []
        poller = asyncio.create_task(_poll_health(health, stop, during))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        response = await http.post(
            f"/api/v1/workspaces/{ws}/enrichment-jobs",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
        post_seconds = time.perf_counter() - started
        stop.set()
        await poller
        assert response.status_code == 201, response.text[:500]
        assert response.json()["data"]["record_count"] == records

    print(f"job POST: {records:,} records, {len(body) / 1e6:.1f} MB, {post_seconds:.2f} s")
    print(f"{'phase':<22}{'samples':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, values in (("health alone", baseline), ("health during POST", during)):
        print(f"{name:<22}{len(values):>8}{_pct(values, 0.5):>9.1f}{_pct(values, 0.99):>9.1f}{max(values):>9.1f}")
    print(f"p99 during / alone: {_pct(during, 0.99) / _pct(baseline, 0.99):.1f}x  (goal: p99 during < 250 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    url_db = database.with_database(args.database_url, f"morket_bench_{secrets.token_hex(4)}")
    database.ensure_database(url_db, drop_first=True)
    database.upgrade(url_db)
    temporal = TemporalDevServer(port=free_port(), db_file=None)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url_db,
        "MORKET_ENV": "test",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_AUTH_PER_MINUTE": "1000",
        "LOG_LEVEL": "WARNING",
    }
    api: subprocess.Popen[bytes] | None = None
    try:
        env["TEMPORAL_ADDRESS"] = temporal.start()
        api = subprocess.Popen([sys.executable, "-m", "morket.cli", "api", "--port", str(port)], env=env)
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            if time.monotonic() > deadline or api.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        asyncio.run(_measure(f"http://127.0.0.1:{port}", args.records, args.baseline_seconds))
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        temporal.stop()
        asyncio.run(database.drop_database(url_db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
