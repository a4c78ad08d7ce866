"""The request path under load: authenticated reads against a do-nothing endpoint, in one run.

    .venv/bin/python bench/api.py                  # API workers = cores, 5 s per measurement
    .venv/bin/python bench/api.py --workers 1 --seconds 3
    .venv/bin/python bench/api.py --profile 15     # also record a py-spy profile of the 32-connection workspace read

Starts the API as production does (uvicorn, `--workers N`, no reload, INFO logs, access log off) on a free
port against a scratch database on the PostgreSQL server of $DATABASE_URL (default: the local one
on 5432), registers a user with a workspace, and loads each endpoint with `wrk` (Debian's package;
scripts/bootstrap.sh installs it): first one connection (sequential latency), then 32 connections.
The first row is a bare endpoint that does nothing but pass the same middleware (request id,
security headers, the shared rate limiter): the ceiling of this machine in this run; the last
column is each endpoint's throughput as a share of it. Figures are only comparable within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend" / "src"))

from morket.devstack import database  # noqa: E402
from morket.devstack.ports import free_port, port_open  # noqa: E402

# Random per run: the API runs with MORKET_ENV=production, which refuses weak secrets.
SECRET = secrets.token_urlsafe(48)
MASTER_KEY = secrets.token_hex(32)
BARE_PATH = "/api/v1/bench/bare"

# The app the workers serve: the product's app plus the bare endpoint (a factory uvicorn imports).
_FACTORY = """
from fastapi.responses import Response
from sqlalchemy import text
from morket.app import create_app as _create_app
from morket.core.config import load_settings
from morket.core.logging import configure_logging

_BODY = b'{"success":true,"data":null,"error":null,"meta":null}'
_ONE = text("SELECT 1")


def create_app():
    # As `morket api` does in each worker (cli.serve_app): JSON logs through the logging thread.
    settings = load_settings()
    configure_logging(settings.log_level)
    app = _create_app(settings)

    async def bare() -> Response:
        return Response(_BODY, media_type="application/json")

    reads = app.state.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def bare_query() -> Response:
        # The floor of any read that asks PostgreSQL anything: one trivial statement on a pooled
        # connection, without a transaction (as our reads run), through SQLAlchemy Core.
        async with reads.connect() as conn:
            await conn.execute(_ONE)
        return Response(_BODY, media_type="application/json")

    app.add_api_route("BARE_PATH", bare, methods=["GET"], include_in_schema=False)
    app.add_api_route("BARE_PATH-query", bare_query, methods=["GET"], include_in_schema=False)
    return app
""".replace("BARE_PATH", BARE_PATH)


@dataclass
class Figures:
    name: str
    sequential_p50_ms: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, headers: dict[str, str], connections: int, seconds: float) -> tuple[float, float, float, int]:
    """requests/s, p50 ms, p99 ms and the count of non-2xx/3xx answers, from `wrk --latency`."""
    args = [
        "wrk",
        "--latency",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


@contextmanager
def api_server(
    db_url: str, workers: int, port: int, log: Path, src: Path, *, access_log: bool, pool_size: int
) -> Iterator[subprocess.Popen[bytes]]:
    factory_dir = Path(tempfile.mkdtemp(prefix="morket-bench-"))
    (factory_dir / "morket_bench_app.py").write_text(_FACTORY)
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": f"{factory_dir}{os.pathsep}{src}",
            "DATABASE_URL": db_url,
            "MORKET_ENV": "production",
            "JWT_SECRET": SECRET,
            "ENCRYPTION_MASTER_KEY": MASTER_KEY,
            "BCRYPT_ROUNDS": "4",
            # The limiter still runs on every request, with a ceiling the load never reaches.
            "RATE_LIMIT_GENERAL_PER_MINUTE": "100000000",
            "RATE_LIMIT_AUTH_PER_MINUTE": "1000",
            # Production's settings: INFO logs, the access log off unless --access-log.
            "LOG_LEVEL": "INFO",
            "ACCESS_LOG": "true" if access_log else "false",
            "DATABASE_POOL_SIZE": str(pool_size),
            # Several processes: none may drain into (or open) the checkout's chDB path.
            "ANALYTICS_CONSUMER": "false",
            "CLICKHOUSE_URL": "http://127.0.0.1:1/unused",
        }
    )
    env.pop("REDIS_URL", None)
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "morket_bench_app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        # As `morket api` runs uvicorn: its own access log off (ours is in the middleware), no
        # proxy-headers middleware (TRUSTED_PROXIES decides whom to believe).
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start (exit {proc.poll()}); see {log}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(factory_dir, ignore_errors=True)


@dataclass
class Seeded:
    headers: dict[str, str]
    etag: str
    workspace: str
    table: str


# The rows table: a typical enrichment sheet (company, domain, contact, numbers, a date, a flag).
ROW_COLUMNS = [
    ("Company", "text"),
    ("Domain", "url"),
    ("Contact", "text"),
    ("Email", "email"),
    ("Employees", "number"),
    ("Revenue", "currency"),
    ("Founded", "date"),
    ("Qualified", "checkbox"),
]


def seed(base: str, rows: int) -> Seeded:
    with httpx.Client(base_url=base, timeout=120) as api:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        reg = api.post("/api/v1/auth/register", json={"email": email, "password": "bench-password-1"})
        reg.raise_for_status()
        headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = api.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)
        ws.raise_for_status()
        workspace = ws.json()["data"]["id"]
        catalog = api.get("/api/v1/providers", headers=headers)
        catalog.raise_for_status()
        table = api.post(
            f"/api/v1/workspaces/{workspace}/tables",
            json={"name": "Leads", "columns": [{"name": n, "type": t} for n, t in ROW_COLUMNS]},
            headers=headers,
        )
        table.raise_for_status()
        table_id = table.json()["data"]["id"]
        columns = [c["id"] for c in table.json()["data"]["columns"]]
        body = [
            dict(
                zip(
                    columns,
                    [
                        f"Company {i}",
                        f"https://company{i}.example.com",
                        f"Contact {i}",
                        f"contact{i}@company{i}.example.com",
                        10 + i % 5000,
                        f"{1000 + i * 7}.50",
                        f"{1980 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                        i % 3 == 0,
                    ],
                    strict=True,
                )
            )
            for i in range(rows)
        ]
        api.post(
            f"/api/v1/workspaces/{workspace}/tables/{table_id}/rows", json={"rows": body}, headers=headers
        ).raise_for_status()
        return Seeded(headers, catalog.headers.get("etag", ""), workspace, table_id)


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    # The dev extra installs py-spy next to this interpreter; PATH may not have the venv.
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("py-spy not found on PATH; no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--subprocesses",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "500",
            "--nonblocking",
            "--format",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", type=int, default=0, help="seconds of py-spy on one endpoint at load")
    parser.add_argument("--profile-target", default="GET /workspaces/{id}", help="the endpoint (row name) to profile")
    parser.add_argument("--access-log", action="store_true", help="log every request (off in production)")
    parser.add_argument("--pool-size", type=int, default=20, help="DATABASE_POOL_SIZE of each API process")
    parser.add_argument("--only", default="", help="measure only endpoints whose name contains this (and the ceilings)")
    parser.add_argument("--rows", type=int, default=3000, help="rows in the table the rows endpoint pages through")
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "backend" / "src",
        help="the morket package to serve (A/B against a git archive)",
    )
    parser.add_argument("--revision", default="head", help="migrate the scratch database to this revision only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make bootstrap` (it installs Debian's wrk)")

    state = ROOT / ".morket" / "bench"
    state.mkdir(parents=True, exist_ok=True)
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_url = database.with_database(server_url, f"morket_bench_{uuid.uuid4().hex[:8]}")
    database.ensure_database(db_url, drop_first=True)
    database.upgrade(db_url, args.revision)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        with api_server(
            db_url,
            args.workers,
            port,
            state / "api.log",
            args.src,
            access_log=args.access_log,
            pool_size=args.pool_size,
        ) as proc:
            seeded = seed(base, args.rows)
            headers, workspace = seeded.headers, seeded.workspace
            rows_path = f"/api/v1/workspaces/{workspace}/tables/{seeded.table}/rows?limit=100&offset=200"
            targets = [
                ("bare endpoint (ceiling)", BARE_PATH, {}),
                ("bare + SELECT 1 (floor of a read)", BARE_PATH + "-query", {}),
                ("GET /health", "/api/v1/health", {}),
                ("GET /workspaces/{id}", f"/api/v1/workspaces/{workspace}", headers),
                ("GET /workspaces/{id}/billing", f"/api/v1/workspaces/{workspace}/billing", headers),
                (f"GET .../rows (100 of {args.rows:,})", rows_path, headers),
                ("GET /providers", "/api/v1/providers", headers),
                ("GET /providers (If-None-Match: 304)", "/api/v1/providers", {**headers, "If-None-Match": seeded.etag}),
                ("GET /auth/me", "/api/v1/auth/me", headers),
            ]
            targets = [t for t in targets if t[0].startswith("bare") or args.only in t[0]]
            results: list[Figures] = []
            for name, path, hdrs in targets:
                wrk(base + path, hdrs, args.connections, 1.0)  # warm the workers' pools and caches
                _, seq_p50, _, _ = wrk(base + path, hdrs, 1, args.seconds)
                spy = None
                if args.profile and name == args.profile_target:
                    spy = profile(proc.pid, args.profile, state / "api-profile.txt")
                rps, p50, p99, bad = wrk(base + path, hdrs, args.connections, max(args.seconds, args.profile))
                if spy is not None:
                    spy.wait()
                    print(f"py-spy profile (collapsed stacks): {state / 'api-profile.txt'}", file=sys.stderr)
                results.append(Figures(name, seq_p50, rps, p50, p99, bad))
    finally:
        import asyncio

        asyncio.run(database.drop_database(db_url))

    ceiling = results[0].rps
    print(
        f"API ({args.src}): {args.workers} worker process(es), {os.cpu_count()} cores, PostgreSQL on the same "
        f"machine, load average {os.getloadavg()[0]:.1f}; wrk {args.seconds:g} s per cell; pool "
        f"{args.pool_size}/process; access log {'on' if args.access_log else 'off'}"
    )
    header = f"| endpoint | 1 conn p50 | {args.connections} conn req/s | p50 | p99 | share of bare | non-2xx |"
    print(header)
    print("|" + "---|" * 7)
    for r in results:
        print(
            f"| {r.name} | {r.sequential_p50_ms:.2f} ms | {r.rps:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms "
            f"| {r.rps / ceiling:.0%} | {r.non_2xx} |"
        )
    print(json.dumps({r.name: {"p50_1": r.sequential_p50_ms, "rps": r.rps, "p99": r.p99_ms} for r in results}))


if __name__ == "__main__":
    main()
