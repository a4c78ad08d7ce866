"""The request path under load: authenticated reads against a do-nothing endpoint, in one run.

    .venv/bin/python bench/api.py                  # API workers = cores, 5 s per measurement
    .venv/bin/python bench/api.py --workers 1 --seconds 3
    .venv/bin/python bench/api.py --profile 15     # also record a py-spy profile of the 32-connection workspace read

Starts the API as production does (uvicorn, `--workers N`, no reload, access log on) on a free
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
from morket.app import create_app as _create_app

_BODY = b'{"success":true,"data":null,"error":null,"meta":null}'


def create_app():
    app = _create_app()

    async def bare() -> Response:
        return Response(_BODY, media_type="application/json")

    app.add_api_route("BARE_PATH", bare, methods=["GET"], include_in_schema=False)
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
def api_server(db_url: str, workers: int, port: int, log: Path, src: Path) -> Iterator[subprocess.Popen[bytes]]:
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
            "LOG_LEVEL": "WARNING",
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
        "--no-access-log",
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


def seed(base: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=base, timeout=30) as api:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        reg = api.post("/api/v1/auth/register", json={"email": email, "password": "bench-password-1"})
        reg.raise_for_status()
        headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = api.post("/api/v1/workspaces", json={"name": "Bench"}, headers=headers)
        ws.raise_for_status()
        catalog = api.get("/api/v1/providers", headers=headers)
        catalog.raise_for_status()
        return headers, catalog.headers.get("etag", "")


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy")
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
    parser.add_argument("--profile", type=int, default=0, help="seconds of py-spy on the workspace read at load")
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
        with api_server(db_url, args.workers, port, state / "api.log", args.src) as proc:
            headers, etag = seed(base)
            workspace = httpx.get(f"{base}/api/v1/workspaces", headers=headers).json()["data"][0]["id"]
            targets = [
                ("bare endpoint (ceiling)", BARE_PATH, {}),
                ("GET /health", "/api/v1/health", {}),
                ("GET /workspaces/{id}", f"/api/v1/workspaces/{workspace}", headers),
                ("GET /workspaces/{id}/billing", f"/api/v1/workspaces/{workspace}/billing", headers),
                ("GET /providers", "/api/v1/providers", headers),
                ("GET /providers (If-None-Match: 304)", "/api/v1/providers", {**headers, "If-None-Match": etag}),
                ("GET /auth/me", "/api/v1/auth/me", headers),
            ]
            results: list[Figures] = []
            for name, path, hdrs in targets:
                wrk(base + path, hdrs, args.connections, 1.0)  # warm the workers' pools and caches
                _, seq_p50, _, _ = wrk(base + path, hdrs, 1, args.seconds)
                spy = None
                if args.profile and path.endswith(workspace):
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
        f"machine, load average {os.getloadavg()[0]:.1f}; wrk {args.seconds:g} s per cell"
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
