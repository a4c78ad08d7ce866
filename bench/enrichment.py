"""Enrichment throughput benchmark: prints figures.

    .venv/bin/python bench/enrichment.py                     # 10,000 records, both scenarios
    .venv/bin/python bench/enrichment.py --records 100000    # the large run
    .venv/bin/python bench/enrichment.py --scenario throughput|ratelimit
    .venv/bin/python bench/enrichment.py --path table        # the same scenarios on table rows

`--path table` (issue 10): the records are rows of a table with three enrichment columns (Work
email: apollo -> hunter; Company: company_name from clearbit; Industry: industry from clearbit);
the clock runs from `POST .../tables/{id}/runs` with the three columns (three column runs, i.e.
three jobs) to the last job's final status; rows/s = rows / that time. (`--path job`, the
default, posts inline records; those also land in a table since item 3.)

Processes, as in production: the sandbox (provider emulator) and the Temporal dev server and the
worker (`morket worker`) each run in their own process; the API runs in this process (httpx over
ASGI), so the figures are end to end: from `POST .../enrichment-jobs` to the job's final status.

Scenario "throughput": fields email (apollo -> hunter), company_name and industry (clearbit),
sandbox latency 0 ms, provider limits lifted; prints records/s and the pipeline's provider calls/s
next to the sandbox's raw capacity, measured in the same run with a plain concurrent client.

Scenario "ratelimit": sandbox latency 100 ms and 50 calls/s per provider (the sandbox answers 429
above that); the worker is told the same limit; prints the achieved rate per provider against
the limit, the 429s the sandbox sent and the 429s that reached the ledger (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend" / "src"))

from procs import cpu_seconds, process  # noqa: E402

from morket.app import create_app  # noqa: E402
from morket.core.config import Settings  # noqa: E402
from morket.devstack import database  # noqa: E402
from morket.devstack.ports import free_port, port_open  # noqa: E402
from morket.devstack.temporal import TemporalDevServer  # noqa: E402
from morket.providers.base import ProviderCredential  # noqa: E402
from morket.providers.registry import get_provider  # noqa: E402
from morket.providers.transport import provider_http_client  # noqa: E402

FIELDS = ["email", "company_name", "industry"]
WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}
FINAL = {"completed", "partially_completed", "failed", "cancelled"}
SECRET = "bench-secret-" + "x" * 40
MASTER_KEY = "cd" * 32


def records(n: int, tag: str) -> list[dict[str, Any]]:
    firsts = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "john", "radia", "ken"]
    return [
        {"first_name": firsts[i % 10].title(), "last_name": f"Person{i}", "domain": f"{tag}{i}.com"} for i in range(n)
    ]


async def postgres_backends(settings: Settings) -> list[int]:
    """The server processes of every connection to the bench database (worker's and API's pools)."""
    from sqlalchemy import text

    from morket.core.db import make_engine

    engine = make_engine(settings.database_url, pool_size=1)
    async with engine.connect() as conn:
        pids = (
            await conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        ).scalars()
        found = [int(p) for p in pids]
    await engine.dispose()
    return found


class CpuMeter:
    """CPU seconds each process of the run spent between `start()` and `stop()`: where a row's cost goes."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self.before: dict[int, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> None:
        self.before = {pid: cpu_seconds(pid) for pids in self.pids.values() for pid in pids}
        self.before[-1] = time.process_time()
        self.load = os.getloadavg()

    def stop(self, postgres: list[int]) -> None:
        self.pids["postgres (bench db backends)"] = postgres
        for name, pids in self.pids.items():
            self.spent[name] = sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
        self.spent["bench process (API over ASGI)"] = time.process_time() - self.before[-1]

    def report(self, rows: int, elapsed: float) -> None:
        print(f"load average at start : {' / '.join(f'{x:.2f}' for x in self.load)}")
        total = sum(self.spent.values())
        for name, seconds in self.spent.items():
            print(
                f"  cpu {name:30s}: {seconds:6.1f} s = {1000 * seconds / rows:5.2f} ms/row"
                f" ({100 * seconds / elapsed:3.0f}% of a core)"
            )
        print(f"  cpu total                         : {total:6.1f} s = {1000 * total / rows:5.2f} ms/row")


@contextmanager
def sampled(pids: dict[str, int]) -> Iterator[None]:
    """With BENCH_PYSPY=<dir>: py-spy samples these processes (collapsed stacks, <dir>/<name>.txt)."""
    folder = os.environ.get("BENCH_PYSPY")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    procs = [
        subprocess.Popen(
            [spy, "record", "-p", str(pid), "-r", "50", "-f", "raw", "-o", f"{folder}/{name}.txt", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port}")
        time.sleep(0.05)


def bench_settings(db_url: str, temporal_address: str, sandbox_url: str, queue_prefix: str) -> Settings:
    """The API's and the worker's settings for a bench on the real stack (BENCH_* from the environment)."""
    return Settings(
        database_url=db_url,
        morket_env="development",
        jwt_secret=SECRET,
        encryption_master_key=MASTER_KEY,
        bcrypt_rounds=4,
        rate_limit_general_per_minute=1_000_000,
        temporal_address=temporal_address,
        temporal_task_queue=f"{queue_prefix}-{uuid.uuid4().hex[:8]}",
        provider_sandbox_url=sandbox_url,
        enrichment_chunk_size=int(os.environ.get("BENCH_CHUNK", "500")),
        enrichment_parallel_chunks=int(os.environ.get("BENCH_PARALLEL", "1")),
        # At 0 ms latency few calls in flight go fastest (httpx and the sandbox slow down with many
        # open connections); the rate-limit scenario (100 ms latency) sets 16 for its worker.
        enrichment_record_concurrency=int(os.environ.get("BENCH_CONCURRENCY", "4")),
        enrichment_write_batch=int(os.environ.get("BENCH_WRITE_BATCH", "100")),
    )


def base_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "MORKET_ENV": "development",
            "JWT_SECRET": SECRET,
            "ENCRYPTION_MASTER_KEY": MASTER_KEY,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            "PROVIDER_SANDBOX_URL": settings.provider_sandbox_url or "",
            "LOG_LEVEL": "WARNING",
            "ENRICHMENT_CHUNK_SIZE": str(settings.enrichment_chunk_size),
            "ENRICHMENT_PARALLEL_CHUNKS": str(settings.enrichment_parallel_chunks),
            "ENRICHMENT_RECORD_CONCURRENCY": str(settings.enrichment_record_concurrency),
            "ENRICHMENT_WRITE_BATCH": str(settings.enrichment_write_batch),
        }
    )
    return env


async def raw_capacity(sandbox_url: str, seconds: float, sandbox_pid: int) -> tuple[float, int, float]:
    """The best calls/s over a few client concurrencies (too many connections slow the sandbox down),
    and the sandbox's CPU per call over all of them (ms): its capacity on one free core is 1000 / that."""
    best = (0.0, 0)
    calls = 0
    cpu = cpu_seconds(sandbox_pid)
    for concurrency in (4, 8, 16, 32):
        rate, done = await raw_capacity_at(sandbox_url, seconds / 4, concurrency)
        calls += done
        best = max(best, (rate, concurrency))
    return best[0], best[1], 1000 * (cpu_seconds(sandbox_pid) - cpu) / max(calls, 1)


async def raw_capacity_at(sandbox_url: str, seconds: float, concurrency: int) -> tuple[float, int]:
    """Calls/s the sandbox serves to a plain concurrent client, with the pipeline's call mix.

    The client is the worker's own HTTP client (httpx API over aiohttp, providers.transport) without
    the gateway and the database: httpx's own stack would spend more CPU per call than the sandbox,
    and measure the client rather than the sandbox."""
    key = ProviderCredential(api_key="sandbox-key")
    mix = [
        (get_provider("apollo"), "/apollo/api/v1", "email"),
        (get_provider("hunter"), "/hunter/v2", "email"),
        (get_provider("clearbit"), "/clearbit", "company_name"),
    ]
    adapters = [(type(a)(sandbox_url + path), field) for a, path, field in mix]
    done = 0
    deadline = time.monotonic() + seconds
    async with provider_http_client(30, max_connections=concurrency) as http:

        async def loop(worker: int) -> None:
            nonlocal done
            i = worker
            while time.monotonic() < deadline:
                adapter, field = adapters[i % len(adapters)]
                inputs = {"first_name": "Ada", "last_name": f"Raw{i}", "domain": f"raw{i}.com"}
                await adapter.call(adapter.resolve(field, inputs), inputs, key, http)
                done += 1
                i += concurrency

        started = time.monotonic()
        await asyncio.gather(*(loop(w) for w in range(concurrency)))
        return done / (time.monotonic() - started), done


async def wait_for_workers(settings: Settings, count: int, timeout: float = 120.0) -> None:
    """Until `count` worker processes poll the task queue for activities (Temporal says so).

    A worker process compiles every module when it starts (no .pyc in this environment:
    PYTHONDONTWRITEBYTECODE), several seconds on a busy machine; a fixed sleep let that start-up
    leak into the measured time."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    request = DescribeTaskQueueRequest(
        namespace=settings.temporal_namespace,
        task_queue=TaskQueue(name=settings.temporal_task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    )
    deadline = time.monotonic() + timeout
    while len((await client.workflow_service.describe_task_queue(request)).pollers) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not start polling")
        await asyncio.sleep(0.1)


async def sandbox_stats(sandbox_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        stats: dict[str, Any] = (await http.get("/_admin/stats")).json()
        return stats


async def set_faults(sandbox_url: str, faults: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        (await http.post("/_admin/reset")).raise_for_status()
        (await http.put("/_admin/faults", json=faults)).raise_for_status()


def count_429(stats: dict[str, Any]) -> int:
    return sum(p["by_status"].get("429", 0) for p in stats["providers"].values())


async def run_job(
    api: httpx.AsyncClient, headers: dict[str, str], ws: str, n: int, tag: str, meter: CpuMeter | None = None
) -> dict[str, Any]:
    body = {"records": records(n, tag), "fields": FIELDS, "waterfall": WATERFALL}
    if meter is not None:
        meter.start()
    started = time.monotonic()
    response = await api.post(f"/api/v1/workspaces/{ws}/enrichment-jobs", json=body, headers=headers)
    response.raise_for_status()
    created = time.monotonic() - started
    job = response.json()["data"]
    while True:
        data = (await api.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}", headers=headers)).json()["data"]
        if data["status"] in FINAL:
            break
        await asyncio.sleep(0.25)
    data["_elapsed"] = time.monotonic() - started
    data["_create_seconds"] = created
    return data


async def ledger_429_debits(settings: Settings, job_id: str) -> int:
    """Debits whose (record, field, provider) attempt was rate limited: must be none."""
    from sqlalchemy import text

    from morket.core.db import make_engine

    engine = make_engine(settings.database_url, pool_size=1)
    async with engine.connect() as conn:
        n = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM credit_transactions t JOIN enrichment_attempts a"
                    " ON a.record_id = t.record_id AND t.description = a.provider || ' ' || a.field"
                    " WHERE t.job_id = :j AND t.type = 'debit' AND a.outcome = 'rate_limited'"
                ),
                {"j": job_id},
            )
        ).scalar_one()
    await engine.dispose()
    return int(n)


COLUMNS = [
    ("Work email", "email", ["apollo", "hunter"], ["first_name", "last_name", "domain"]),
    ("Company", "company_name", ["clearbit"], ["domain"]),
    ("Industry", "industry", ["clearbit"], ["domain"]),
]


async def table_with_columns(
    api: httpx.AsyncClient, headers: dict[str, str], ws: str, n: int, tag: str
) -> tuple[str, list[str]]:
    """A table of `n` rows (first_name, last_name, domain) and three enrichment columns."""
    base = f"/api/v1/workspaces/{ws}/tables"
    inputs = [{"name": key, "type": "text"} for key in ("first_name", "last_name", "domain")]
    table = (await api.post(base, json={"name": f"bench {tag}", "columns": inputs}, headers=headers)).json()["data"]
    col = {c["name"]: c["id"] for c in table["columns"]}
    rows = [{col[k]: v for k, v in r.items()} for r in records(n, tag)]
    for start in range(0, n, 50_000):
        added = await api.post(
            f"{base}/{table['id']}/rows", json={"rows": rows[start : start + 50_000]}, headers=headers
        )
        added.raise_for_status()
    ids = []
    for name, field, waterfall, keys in COLUMNS:
        config = {"field": field, "waterfall": waterfall, "inputs": {k: col[k] for k in keys}}
        column = {"name": name, "type": "text", "kind": "enrichment", "config": config}
        created = await api.post(f"{base}/{table['id']}/columns", json=column, headers=headers)
        created.raise_for_status()
        ids.append(created.json()["data"]["id"])
    return table["id"], ids


async def run_table(
    api: httpx.AsyncClient, headers: dict[str, str], ws: str, n: int, tag: str, meter: CpuMeter | None = None
) -> dict[str, Any]:
    """Run the three columns on every row: the jobs' sum, elapsed from the POST to the last final status."""
    table_id, columns = await table_with_columns(api, headers, ws, n, tag)
    if meter is not None:  # the CPU of the run, not of the table's set-up
        meter.start()
    started = time.monotonic()
    response = await api.post(
        f"/api/v1/workspaces/{ws}/tables/{table_id}/runs", json={"column_ids": columns}, headers=headers
    )
    response.raise_for_status()
    created = time.monotonic() - started
    # Columns over the same rows may share one job (docs/columns.md): each job once.
    jobs = list(dict.fromkeys(r["job"]["id"] for r in response.json()["data"]["runs"]))
    finished: dict[str, dict[str, Any]] = {}
    while len(finished) < len(jobs):
        for job_id in jobs:
            if job_id not in finished:
                data = (await api.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}", headers=headers)).json()
                if data["data"]["status"] in FINAL | {"budget_reached"}:
                    finished[job_id] = data["data"]
        await asyncio.sleep(0.25)
    elapsed = time.monotonic() - started
    counts: dict[str, int] = {}
    for job in finished.values():
        for key, value in job["counts"].items():
            counts[key] = counts.get(key, 0) + value
    print(f"column runs -> jobs   : {len(COLUMNS)} columns -> {len(jobs)} job(s)")
    return {
        "id": jobs[0],
        "ids": jobs,
        "status": ",".join(sorted({j["status"] for j in finished.values()})),
        "counts": counts,
        "credits": {
            "spent": sum(j["credits"]["spent"] for j in finished.values()),
            "estimated": sum(j["credits"]["estimated"] for j in finished.values()),
        },
        "_elapsed": elapsed,
        "_create_seconds": created,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--ratelimit-records", type=int, default=4_000)
    parser.add_argument("--scenario", choices=["all", "throughput", "ratelimit"], default="all")
    parser.add_argument("--raw-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (replicas on one task queue)")
    parser.add_argument("--path", choices=["job", "table"], default="job", help="inline job, or 3 columns of a table")
    args = parser.parse_args()

    state = ROOT / ".morket" / "bench"
    state.mkdir(parents=True, exist_ok=True)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_url = database.with_database(server_url, f"morket_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(db_url, drop_first=True)
    database.upgrade(db_url)
    try:
        asyncio.run(run(args, db_url))
    finally:
        asyncio.run(database.drop_database(db_url))


async def run(args: Any, db_url: str) -> None:
    state = ROOT / ".morket" / "bench"
    temporal = TemporalDevServer(port=free_port(), db_file=None, log_file=state / "temporal.log")
    temporal.start()
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    settings = bench_settings(db_url, temporal.address, sandbox_url, "bench")
    app = create_app(settings)
    try:
        with process(
            [sys.executable, "-m", "morket_sandbox", "--port", str(sandbox_port)],
            dict(os.environ),
            state / "sandbox.log",
        ) as sandbox:
            wait_port(sandbox_port)
            args.pids = {"sandbox": [sandbox.pid], "temporal": [temporal.proc.pid] if temporal.proc else []}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
            ) as api:
                email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
                reg = await api.post("/api/v1/auth/register", json={"email": email, "password": "bench-password-1"})
                headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
                ws = (await api.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)).json()["data"][
                    "id"
                ]
                await api.post(
                    f"/api/v1/workspaces/{ws}/billing/credits",
                    json={"amount": 1_000_000_000, "description": "bench"},
                    headers=headers,
                )
                # Bench inputs are new to the cache; turn it off anyway so every call reaches the sandbox.
                await api.put(
                    f"/api/v1/workspaces/{ws}/provider-settings",
                    json={"cache_enabled": False, "cache_ttl_seconds": 86_400},
                    headers=headers,
                )
                if args.scenario in ("all", "throughput"):
                    await throughput(api, headers, ws, settings, sandbox_url, args)
                if args.scenario in ("all", "ratelimit"):
                    await ratelimit(api, headers, ws, settings, sandbox_url, args)
    finally:
        await app.state.engine.dispose()
        temporal.stop()


async def throughput(
    api: httpx.AsyncClient, headers: dict[str, str], ws: str, settings: Settings, sandbox_url: str, args: Any
) -> None:
    await set_faults(sandbox_url, {"default": {"latency_ms": 0}})
    raw, raw_concurrency, raw_cpu = await raw_capacity(sandbox_url, args.raw_seconds, args.pids["sandbox"][0])
    env = base_env(settings)
    env["PROVIDER_RATE_LIMITS"] = json.dumps({p: [[100_000, 1.0]] for p in ("apollo", "hunter", "clearbit")})
    log = ROOT / ".morket" / "bench" / "worker.log"
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    with contextlib.ExitStack() as workers:
        worker_pids = []
        for _ in range(args.workers):
            proc = workers.enter_context(process([sys.executable, *profile, "-m", "morket.cli", "worker"], env, log))
            worker_pids.append(proc.pid)
        await wait_for_workers(settings, args.workers)
        before = await sandbox_stats(sandbox_url)
        runner = run_table if args.path == "table" else run_job
        meter = CpuMeter({**args.pids, "worker": worker_pids})
        with sampled({"worker": worker_pids[0], "sandbox": args.pids["sandbox"][0]}):
            job = await runner(api, headers, ws, args.records, f"tp{uuid.uuid4().hex[:4]}", meter=meter)
        meter.stop(await postgres_backends(settings))
        after = await sandbox_stats(sandbox_url)
    calls = after["total"] - before["total"]
    elapsed = job["_elapsed"]
    print(
        f"\n== throughput ({args.path} path): {args.records} records, fields {FIELDS}, sandbox latency 0 ms,"
        f" {args.workers} worker process(es), {settings.enrichment_parallel_chunks} chunks x"
        f" {settings.enrichment_record_concurrency} records in flight each =="
    )
    print(f"job status            : {job['status']}  counts={job['counts']}")
    print(f"create (POST) time    : {job['_create_seconds']:.2f} s")
    print(f"end to end            : {elapsed:.2f} s  ->  {args.records / elapsed:.0f} records/s")
    print(f"provider calls        : {calls}  ->  {calls / elapsed:.0f} calls/s")
    print(
        f"sandbox raw capacity  : {raw:.0f} calls/s at {raw_concurrency} concurrent calls"
        f"  (pipeline = {100 * calls / elapsed / raw:.0f}% of raw)"
    )
    print(
        f"sandbox cpu per call  : {raw_cpu:.2f} ms in the raw run (one free core: {1000 / raw_cpu:.0f} calls/s),"
        f" {1000 * meter.spent['sandbox'] / max(calls, 1):.2f} ms in the pipeline"
    )
    print(f"credits spent         : {job['credits']['spent']} of {job['credits']['estimated']} estimated")
    meter.report(args.records, elapsed)


async def ratelimit(
    api: httpx.AsyncClient, headers: dict[str, str], ws: str, settings: Settings, sandbox_url: str, args: Any
) -> None:
    limit = 50
    await set_faults(sandbox_url, {"default": {"latency_ms": 100, "rate_limit_per_second": limit}})
    env = base_env(settings)
    env["PROVIDER_RATE_LIMITS"] = json.dumps({p: [[limit, 1.0]] for p in ("apollo", "hunter", "clearbit")})
    env["ENRICHMENT_RECORD_CONCURRENCY"] = "16"
    log = ROOT / ".morket" / "bench" / "worker.log"
    samples: list[tuple[float, dict[str, int]]] = []

    async def sample() -> None:
        while True:
            stats = await sandbox_stats(sandbox_url)
            samples.append((time.monotonic(), {p: d["total"] for p, d in stats["providers"].items()}))
            await asyncio.sleep(0.25)

    with process([sys.executable, "-m", "morket.cli", "worker"], env, log):
        await wait_for_workers(settings, 1)
        sampler = asyncio.create_task(sample())
        runner = run_table if args.path == "table" else run_job
        job = await runner(api, headers, ws, args.ratelimit_records, f"rl{uuid.uuid4().hex[:4]}")
        sampler.cancel()
        stats = await sandbox_stats(sandbox_url)
    elapsed = job["_elapsed"]
    print(
        f"\n== rate limit ({args.path} path): {args.ratelimit_records} records, 100 ms latency,"
        f" {limit} calls/s per provider =="
    )
    print(f"job status            : {job['status']}  counts={job['counts']}")
    print(f"end to end            : {elapsed:.2f} s  ->  {args.ratelimit_records / elapsed:.1f} records/s")
    for provider, data in sorted(stats["providers"].items()):
        calls = data["total"]
        print(
            f"  {provider:9s}: {calls:5d} calls, {calls / elapsed:5.1f} calls/s over the job"
            f" ({100 * calls / elapsed / limit:.0f}% of {limit}/s), statuses {data['by_status']}"
        )
    busiest = max(stats["providers"], key=lambda p: stats["providers"][p]["total"])
    total = stats["providers"][busiest]["total"]
    print(
        f"busiest ({busiest}) over the whole job: {total / elapsed:.1f} calls/s"
        f" = {100 * total / elapsed / limit:.0f}% of the limit"
    )
    # While it was being called: from the first sample that saw a call to the last that saw a new one.
    active = [(t, c[busiest]) for t, c in samples if c[busiest] > 0]
    moving = [(t, n) for (t, n), (_, prev) in zip(active[1:], active, strict=False) if n > prev]
    if active and moving:
        t0, n0 = active[0]
        t1, n1 = moving[-1]
        rate = (n1 - n0) / (t1 - t0)
        print(f"busiest while active  : {rate:.1f} calls/s = {100 * rate / limit:.0f}% of the limit ({t1 - t0:.1f} s)")
    print(f"429s from the sandbox : {count_429(stats)}")
    in_ledger = sum([await ledger_429_debits(settings, j) for j in job.get("ids", [job["id"]])])
    print(f"429s in the ledger    : {in_ledger}")


if __name__ == "__main__":
    main()
