"""Provider layer benchmark: what the gateway costs, and how close it paces to a provider's limit.

    .venv/bin/python bench/providers.py [--seconds 8] [--rate 50] [--concurrency 64]

Starts the provider sandbox in a subprocess (uvicorn) on a free port, then measures in one run:
  1. raw sandbox capacity: calls/s with a plain httpx client (Hunter email-verifier);
  2. the same calls through the full provider layer (ProviderGateway.enrich: breaker, limiter,
     adapter, output validation; cache off), and the ratio of the two;
  3. with the sandbox limiting Apollo to R calls/s per key (a token bucket answering 429), the rate
     the gateway achieves when told that limit, as a fraction of R, and the 429s it provoked; then
     the same with two gateways sharing the key through Redis (two workers), when Redis is reachable.
Bounded to about a minute with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import httpx
from morket_sandbox import SANDBOX_API_KEY
from redis.asyncio import Redis
from redis.exceptions import RedisError

from morket.core.config import Settings
from morket.devstack.ports import free_port
from morket.providers.base import Outcome, ProviderCredential
from morket.providers.gateway import ProviderGateway
from morket.providers.service import CachePolicy

KEY = ProviderCredential(api_key=SANDBOX_API_KEY)
NO_CACHE = CachePolicy.disabled()


class Sandbox:
    """`python -m morket_sandbox` in its own process group, so the benchmark's client and the
    emulated providers do not share one interpreter (or one GIL)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sandbox:
        # Its log goes to a file: cancelling the callers at the end of a run makes uvicorn report
        # client disconnects, which are expected here.
        self.log = tempfile.NamedTemporaryFile(prefix="morket-bench-sandbox-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "morket_sandbox", "--port", str(self.port), "--log-level", "error"],
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sandbox exited with code {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/_admin/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    def __exit__(self, *_: object) -> None:
        self.log.close()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class Run:
    ends: list[float]
    outcomes: Counter[str]
    started: float
    stopped: float
    cpu: float = 0.0  # CPU seconds of this (client) process during the run

    @property
    def rate(self) -> float:
        return len(self.ends) / (self.stopped - self.started)

    def rate_between(self, start: float, end: float) -> float:
        return sum(1 for t in self.ends if start <= t < end) / (end - start)


async def hammer(seconds: float, concurrency: int, call: Callable[[int], Awaitable[str]]) -> Run:
    """`concurrency` workers calling back to back for `seconds`; completions after the deadline are dropped."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    cpu_start = time.process_time()
    deadline = started + seconds
    ends: list[float] = []
    outcomes: Counter[str] = Counter()
    counter = iter(range(10**9))

    async def worker() -> None:
        while loop.time() < deadline:
            outcome = await call(next(counter))
            now = loop.time()
            if now <= deadline:
                ends.append(now - started)
                outcomes[outcome] += 1

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(seconds)
    await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Run(ends, outcomes, 0.0, seconds, time.process_time() - cpu_start)


def settings_for(sandbox: Sandbox, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "jwt_secret": "bench-" + "x" * 40,
        "encryption_master_key": "00" * 32,
        "morket_env": "test",
        "provider_sandbox_url": sandbox.url,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def sandbox_statuses(admin: httpx.AsyncClient, provider: str) -> dict[str, int]:
    stats = (await admin.get("/_admin/stats")).json()
    counts: dict[str, int] = stats["providers"][provider]["by_status"]
    return counts


async def main(
    seconds: float, rate: int, concurrency: int, rate_seconds: float, redis_url: str | None, rounds: int = 4
) -> None:
    with Sandbox() as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as admin:
            print(
                f"provider layer benchmark: sandbox pid {sandbox.proc.pid if sandbox.proc else '?'} on {sandbox.url}, "
                f"{os.cpu_count()} CPUs, {concurrency} concurrent callers"
            )

            # 1 and 2: the plain client and the gateway take turns (4 rounds each), so a neighbour's
            # load on this machine hits both alike.
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)  # the gateway's pool
            layer_settings = settings_for(sandbox, provider_rate_limits={"hunter": [[1_000_000, 1.0]]})
            workspace = uuid.uuid4()
            async with (
                httpx.AsyncClient(base_url=f"{sandbox.url}/hunter/v2", limits=limits, timeout=30) as raw,
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as raw_aio,
                ProviderGateway(layer_settings, None) as gateway,
            ):

                async def raw_aiohttp_call(n: int) -> str:
                    async with raw_aio.get(
                        f"{sandbox.url}/hunter/v2/email-verifier",
                        params={"email": f"person{n}@company{n % 97}.com"},
                        headers={"X-API-KEY": SANDBOX_API_KEY},
                    ) as response:
                        await response.read()
                        return str(response.status)

                async def raw_call(n: int) -> str:
                    response = await raw.get(
                        "/email-verifier",
                        params={"email": f"person{n}@company{n % 97}.com"},
                        headers={"X-API-KEY": SANDBOX_API_KEY},
                    )
                    return str(response.status_code)

                async def layer_call(n: int) -> str:
                    result = await gateway.enrich(
                        workspace,
                        "hunter",
                        "email_verifier",
                        {"email": f"person{n}@company{n % 97}.com"},
                        credential=KEY,
                        cache=NO_CACHE,
                    )
                    return result.outcome.value

                await hammer(1.0, concurrency, raw_call)  # warm-up: connections, imports, caches
                await hammer(1.0, concurrency, layer_call)
                await hammer(1.0, concurrency, raw_aiohttp_call)
                raw_runs, aio_runs, layer_runs = [], [], []
                for _ in range(rounds):
                    raw_runs.append(await hammer(seconds / rounds, concurrency, raw_call))
                    aio_runs.append(await hammer(seconds / rounds, concurrency, raw_aiohttp_call))
                    layer_runs.append(await hammer(seconds / rounds, concurrency, layer_call))
            raw_rate = sum(len(r.ends) for r in raw_runs) / seconds
            layer_rate = sum(len(r.ends) for r in layer_runs) / seconds
            raw_outcomes = sum((r.outcomes for r in raw_runs), Counter())
            layer_outcomes = sum((r.outcomes for r in layer_runs), Counter())
            print(
                f"1. raw sandbox capacity (plain httpx, hunter email-verifier, {seconds:g} s in {rounds} rounds): "
                f"{raw_rate:,.0f} calls/s  {dict(raw_outcomes)}"
            )
            print(
                f"2. full provider layer, cache off (ProviderGateway.enrich, same calls, interleaved): "
                f"{layer_rate:,.0f} calls/s  {dict(layer_outcomes)}"
            )
            per_round = ", ".join(f"{len(b.ends) / len(a.ends):.2f}" for a, b in zip(raw_runs, layer_runs, strict=True))
            print(f"   layer / raw = {layer_rate / raw_rate:.2f}  (per round: {per_round})")
            # Plain httpx is itself the bottleneck of line 1 (its pure-Python stack); the layer runs
            # httpx's API over aiohttp, so the fair raw figure is a plain aiohttp client.
            aio_rate = sum(len(r.ends) for r in aio_runs) / seconds
            print(
                f"   raw sandbox capacity with a plain aiohttp client: {aio_rate:,.0f} calls/s; "
                f"layer / raw(aiohttp) = {layer_rate / aio_rate:.2f}"
            )

            # The gateway's own CPU, without the network and the sandbox: both clients answered in-process.
            canned = httpx.Response(200, json={"data": {"status": "valid", "score": 92}, "meta": {}})

            def answer(_: httpx.Request) -> httpx.Response:
                return httpx.Response(200, content=canned.content, headers=canned.headers)

            transport = httpx.MockTransport(answer)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://provider") as plain,
                httpx.AsyncClient(transport=transport) as inner,
                ProviderGateway(layer_settings, None, http=inner) as bare_gateway,
            ):

                async def plain_call(n: int) -> str:
                    response = await plain.get("/email-verifier", params={"email": f"person{n}@company{n % 97}.com"})
                    response.json()
                    return str(response.status_code)

                async def bare_layer_call(n: int) -> str:
                    result = await bare_gateway.enrich(
                        workspace,
                        "hunter",
                        "email_verifier",
                        {"email": f"person{n}@company{n % 97}.com"},
                        credential=KEY,
                        cache=NO_CACHE,
                    )
                    return result.outcome.value

                plain_run = await hammer(1.5, 1, plain_call)
                bare_run = await hammer(1.5, 1, bare_layer_call)
            plain_us = plain_run.cpu / len(plain_run.ends) * 1e6
            bare_us = bare_run.cpu / len(bare_run.ends) * 1e6
            print(
                f"   in-process (no network): plain httpx {plain_us:,.0f} us/call, through the gateway "
                f"{bare_us:,.0f} us/call: the layer adds {bare_us - plain_us:,.0f} us of CPU per call"
            )

            # 3. A provider limit of R calls/s per key (the sandbox answers 429 above it).
            (await admin.post("/_admin/reset")).raise_for_status()
            workspace = uuid.uuid4()
            faults = {"providers": {"apollo": {"rate_limit_per_second": rate}}}
            (await admin.put("/_admin/faults", json=faults)).raise_for_status()
            paced_settings = settings_for(sandbox, provider_rate_limits={"apollo": [[rate, 1.0]]})
            async with ProviderGateway(paced_settings, None) as gateway:

                async def paced_call(n: int) -> str:
                    inputs = {"first_name": f"Jane{n}", "last_name": "Doe", "domain": f"company{n % 97}.com"}
                    result = await gateway.enrich(workspace, "apollo", "email", inputs, credential=KEY, cache=NO_CACHE)
                    return result.outcome.value

                warm = 2.0
                paced_run = await hammer(warm + rate_seconds, concurrency, paced_call)
                throttled = gateway.stats.throttled["apollo"]
            statuses = await sandbox_statuses(admin, "apollo")
            steady = paced_run.rate_between(warm, warm + rate_seconds)
            answered = sum(
                n for outcome, n in paced_run.outcomes.items() if outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)
            )
            print(f"3. sandbox limit R = {rate} calls/s on apollo people/match, gateway told the same limit:")
            print(
                f"   steady rate ({rate_seconds:g} s after a {warm:g} s warm-up) {steady:.1f} calls/s "
                f"= {steady / rate:.3f} of R; overall {paced_run.rate:.1f} calls/s over {warm + rate_seconds:g} s"
            )
            print(
                f"   429s seen: {statuses.get('429', 0)} by the sandbox, {throttled} by the gateway; "
                f"answered {answered} ({dict(paced_run.outcomes)}); sandbox statuses {statuses}"
            )

            # 3b. The same limit shared by two workers through Redis (two gateways, half the callers each).
            if redis_url is None or not await redis_reachable(redis_url):
                print("   (two workers sharing the key through Redis: skipped, Redis not reachable)")
                return
            (await admin.post("/_admin/reset")).raise_for_status()
            (await admin.put("/_admin/faults", json=faults)).raise_for_status()
            shared_settings = settings_for(sandbox, provider_rate_limits={"apollo": [[rate, 1.0]]}, redis_url=redis_url)
            async with (
                ProviderGateway.from_settings(shared_settings) as one,
                ProviderGateway.from_settings(shared_settings) as two,
            ):
                await one.breaker("apollo").reset()

                async def shared_call(n: int) -> str:
                    inputs = {"first_name": f"Jane{n}", "last_name": "Doe", "domain": f"company{n % 97}.com"}
                    worker = one if n % 2 else two
                    result = await worker.enrich(workspace, "apollo", "email", inputs, credential=KEY, cache=NO_CACHE)
                    return result.outcome.value

                shared_seconds = 8.0
                shared_run = await hammer(warm + shared_seconds, concurrency, shared_call)
            statuses = await sandbox_statuses(admin, "apollo")
            shared_steady = shared_run.rate_between(warm, warm + shared_seconds)
            print(
                f"   two workers sharing the key through Redis: steady {shared_steady:.1f} calls/s "
                f"= {shared_steady / rate:.3f} of R; 429s seen by the sandbox: {statuses.get('429', 0)}"
            )


async def redis_reachable(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except RedisError:
        return False
    finally:
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each capacity run")
    parser.add_argument("--rate", type=int, default=50, help="R: the sandbox's per-key limit, calls/s")
    parser.add_argument("--rate-seconds", type=float, default=12.0, help="length of the steady rate window")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
        help="Redis for the two-worker run (skipped when unreachable; '' to skip)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rate, args.concurrency, args.rate_seconds, args.redis_url or None))
