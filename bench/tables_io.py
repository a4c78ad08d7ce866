"""Table import and export benchmark: prints figures.

    .venv/bin/python bench/tables_io.py                    # 1,000,000 rows x 10 columns
    .venv/bin/python bench/tables_io.py --rows 100000      # a quicker run

Processes, as in production: the API (`morket api`, uvicorn) and the worker (`morket worker`) each
run in their own process next to the Temporal dev server; this process only writes the CSV file,
sends it over HTTP and reads the export back. Figures:
- import end to end: from the first byte of the upload to the import's `completed` status
  (upload + preview, commit, the workflow's batches, the sort indexes), rows/s;
- export of the whole table as CSV: first byte to last, rows/s;
- the peak resident memory (VmHWM) of the API and of the worker processes, which must stay flat
  whatever the file size (the file is streamed, never held whole).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend" / "src"))

from procs import peak_rss_mb, process  # noqa: E402

from morket.devstack import database  # noqa: E402
from morket.devstack.ports import free_port, port_open  # noqa: E402
from morket.devstack.temporal import TemporalDevServer  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
MASTER_KEY = "cd" * 32
HEADER = ["company", "domain", "email", "first_name", "last_name", "title", "employees", "revenue", "founded", "phone"]


def write_csv(path: Path, rows: int) -> int:
    rnd = random.Random(7)
    titles = ["CEO", "CTO", "VP Sales", "Head of Growth", "Engineer", "Marketing Lead"]
    firsts = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            first = firsts[i % 10]
            writer.writerow(
                [
                    f"Company {i}",
                    f"company{i}.com",
                    f"{first.lower()}.p{i}@company{i}.com",
                    first,
                    f"Person{i}",
                    titles[i % 6],
                    rnd.randint(1, 50_000),
                    f"{rnd.randint(0, 10**9) / 100:.2f}",
                    f"{1950 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    f"+1 555 {i % 1000:03d} {i % 10000:04d}",
                ]
            )
    return path.stat().st_size


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise SystemExit(f"nothing listens on port {port}")
        time.sleep(0.2)


async def file_body(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(256 * 1024):
            yield chunk


async def run(args: Any, db_url: str, state: Path) -> None:
    csv_path = state / f"import-{args.rows}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(f"wrote {csv_path.name}: {csv_path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    size = csv_path.stat().st_size
    temporal = TemporalDevServer(port=free_port(), db_file=None, log_file=state / "temporal.log")
    temporal.start()
    api_port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "MORKET_ENV": "development",
            "JWT_SECRET": SECRET,
            "ENCRYPTION_MASTER_KEY": MASTER_KEY,
            "TEMPORAL_ADDRESS": temporal.address,
            "TEMPORAL_TASK_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_LEVEL": "WARNING",
            "BCRYPT_ROUNDS": "4",
            "RATE_LIMIT_GENERAL_PER_MINUTE": "1000000",
            "IMPORT_MAX_UPLOAD_BYTES": str(max(size * 2, 1 << 30)),
            "IMPORT_BATCH_ROWS": str(args.batch),
        }
    )
    try:
        with (
            process(
                [sys.executable, "-m", "morket.cli", "api", "--port", str(api_port)], env, state / "api.log"
            ) as api,
            process([sys.executable, "-m", "morket.cli", "worker"], env, state / "worker.log") as worker,
        ):
            wait_port(api_port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=3600) as client:
                email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
                reg = await client.post("/api/v1/auth/register", json={"email": email, "password": "bench-password-1"})
                headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
                ws = (await client.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)).json()["data"]
                base = f"/api/v1/workspaces/{ws['id']}"

                started = time.perf_counter()
                uploaded = await client.post(
                    f"{base}/imports",
                    params={"filename": csv_path.name},
                    content=file_body(csv_path),
                    headers={**headers, "content-type": "text/csv"},
                )
                assert uploaded.status_code == 201, uploaded.text
                upload_s = time.perf_counter() - started
                item = uploaded.json()["data"]
                committed = await client.post(
                    f"{base}/imports/{item['id']}/commit", json={"mode": "new_table"}, headers=headers
                )
                assert committed.status_code == 202, committed.text
                while True:
                    data = (await client.get(f"{base}/imports/{item['id']}", headers=headers)).json()["data"]
                    if data["status"] in ("completed", "failed"):
                        break
                    await asyncio.sleep(0.5)
                import_s = time.perf_counter() - started
                assert data["status"] == "completed", data
                progress = data["progress"]
                print(
                    f"import {args.rows:,} rows x {len(HEADER)} columns ({size / 1e6:.0f} MB CSV): "
                    f"{import_s:.1f} s end to end (upload + preview {upload_s:.1f} s), "
                    f"{args.rows / import_s:,.0f} rows/s; inserted {progress['rows_inserted']:,}, "
                    f"rejected {progress['rows_rejected']:,}  [goal <= 60 s for 1,000,000]"
                )
                if data.get("started_at") and data.get("finished_at"):
                    run_s = (
                        datetime.fromisoformat(data["finished_at"]) - datetime.fromisoformat(data["started_at"])
                    ).total_seconds()
                    print(f"  of which the workflow's run (read, convert, COPY, indexes): {run_s:.1f} s")
                table_id = data["table_id"]

                started = time.perf_counter()
                lines = 0
                received = 0
                async with client.stream("GET", f"{base}/tables/{table_id}/export", headers=headers) as response:
                    assert response.status_code == 200
                    async for chunk in response.aiter_bytes():
                        received += len(chunk)
                        lines += chunk.count(b"\n")
                export_s = time.perf_counter() - started
                print(
                    f"export {lines - 1:,} rows to CSV ({received / 1e6:.0f} MB): {export_s:.1f} s, "
                    f"{(lines - 1) / export_s:,.0f} rows/s  [goal <= 30 s for 1,000,000]"
                )
                print(
                    f"peak RSS: api {peak_rss_mb(api.pid):.0f} MB, worker {peak_rss_mb(worker.pid):.0f} MB"
                    "  [goal < 500 MB each, whatever the file size]"
                )
    finally:
        temporal.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="IMPORT_BATCH_ROWS: rows per transaction")
    args = parser.parse_args()
    state = ROOT / ".morket" / "bench"
    state.mkdir(parents=True, exist_ok=True)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_url = database.with_database(server_url, f"morket_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(db_url, drop_first=True)
    database.upgrade(db_url)
    try:
        asyncio.run(run(args, db_url, state))
    finally:
        asyncio.run(database.drop_database(db_url))


if __name__ == "__main__":
    main()
