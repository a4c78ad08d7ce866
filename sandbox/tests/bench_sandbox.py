"""Requests per second of Apollo people/match against the sandbox on a real socket (not a test).

    cd sandbox && ../.venv/bin/python -m tests.bench_sandbox [--seconds 4] [--concurrency 8]

The sandbox runs in its own process (uvicorn, one worker, faults off). Two load generators run in
turn: httpx.AsyncClient (what adapters use; its connection pool, not the sandbox, is the limit
above ~8 concurrent requests) and a bare asyncio keep-alive client that shows the sandbox's own
ceiling. The server's CPU time per request is read from /proc, which gives a figure that does not
depend on what else the machine is running.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from morket_sandbox import SANDBOX_API_KEY
from morket_sandbox.server import free_port, serve

PATH = "/apollo/api/v1/people/match"


def _body(worker: int, n: int) -> bytes:
    # Inputs repeat after a while, as rows do across real tables, so the data caches are exercised.
    return b'{"first_name":"Jane","last_name":"Doe%d","domain":"acme.com"}' % ((worker * 7919 + n) % 5000)


async def _httpx_load(url: str, seconds: float, concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"x-api-key": SANDBOX_API_KEY, "content-type": "application/json"}
    done = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        deadline = time.monotonic() + seconds

        async def worker(worker_id: int) -> None:
            nonlocal done
            n = 0
            while time.monotonic() < deadline:
                response = await client.post(PATH, content=_body(worker_id, n), headers=headers)
                assert response.status_code == 200, response.text
                done, n = done + 1, n + 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done


async def _raw_load(url: str, seconds: float, concurrency: int) -> int:
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + seconds
    done = 0

    async def worker(worker_id: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        n = 0
        while time.monotonic() < deadline:
            body = _body(worker_id, n)
            writer.write(
                b"POST %s HTTP/1.1\r\nhost: sandbox\r\nx-api-key: %s\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (PATH.encode(), SANDBOX_API_KEY.encode(), len(body), body)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done, n = done + 1, n + 1
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(
    name: str,
    load: Callable[[str, float, int], Coroutine[Any, Any, int]],
    url: str,
    pid: int,
    seconds: float,
    concurrency: int,
) -> None:
    asyncio.run(load(url, 0.5, concurrency))  # warm-up: connections, imports, caches
    cpu_before, started = _cpu_seconds(pid), time.monotonic()
    done = asyncio.run(load(url, seconds, concurrency))
    elapsed, cpu_after = time.monotonic() - started, _cpu_seconds(pid)
    line = f"{name:>6} client, {concurrency:>3} concurrent: {done} requests in {elapsed:.1f}s"
    line += f" = {done / elapsed:,.0f} req/s"
    if cpu_before is not None and cpu_after is not None and done:
        per_request = (cpu_after - cpu_before) / done
        line += f"; sandbox CPU {per_request * 1e6:.0f} us/request (~{1 / per_request:,.0f} req/s per free core)"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0, help="per load generator")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    port = free_port()
    server = multiprocessing.Process(target=serve, kwargs={"port": port}, daemon=True)
    server.start()
    assert server.pid is not None
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/_admin/health")
            break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        _measure("httpx", _httpx_load, url, server.pid, args.seconds, args.concurrency)
        _measure("raw", _raw_load, url, server.pid, args.seconds, args.concurrency * 2)
        stats = httpx.get(f"{url}/_admin/stats").json()["providers"]["apollo"]
        print(f"sandbox stats: {stats}")
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
