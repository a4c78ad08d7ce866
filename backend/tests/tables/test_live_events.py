"""Live events across two real API processes, with the write made on a third connection."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from morket.core.config import Settings
from morket.devstack.ports import free_port
from tests.tables.conftest import Workspace, make_table


class ApiProcess:
    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": settings.database_url,
                "MORKET_ENV": "test",
                "JWT_SECRET": settings.jwt_secret,
                "ENCRYPTION_MASTER_KEY": settings.encryption_master_key,
                "RATE_LIMIT_GENERAL_PER_MINUTE": "1000000",
                "LOG_LEVEL": "WARNING",
                **(extra_env or {}),
            }
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "morket.app:create_app",
                "--factory",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                assert self.proc.poll() is None, "the API process exited"
                try:
                    if (await client.get(f"{self.url}/api/v1/health")).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API process did not start"
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def api_processes(settings: Settings) -> Iterator[list[ApiProcess]]:
    processes = [ApiProcess(settings), ApiProcess(settings)]
    yield processes
    for process in processes:
        process.stop()


class EventReader:
    """Parses an SSE response into (id, event, data) tuples."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next_event(self, timeout: float = 20.0) -> tuple[int, str, dict[str, Any]]:
        async def read() -> tuple[int, str, dict[str, Any]]:
            fields: dict[str, str] = {}
            async for line in self.lines:
                if line == "":
                    if "data" in fields:
                        return int(fields["id"]), fields["event"], json.loads(fields["data"])
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), timeout)


@asynccontextmanager
async def open_stream(url: str, **kwargs: Any) -> AsyncIterator[EventReader]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=None)) as client,
        client.stream("GET", url, **kwargs) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


async def test_a_cell_edit_reaches_viewers_on_two_processes_and_streams_resume(
    client: httpx.AsyncClient, workspace: Workspace, api_processes: list[ApiProcess]
) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, [{"name": "Company", "type": "text"}])
    column = table["columns"][0]["id"]
    base = workspace.url(f"/tables/{table['id']}")
    row_id = (await client.post(f"{base}/rows", json={"rows": [{column: "Acme"}]}, headers=h)).json()["data"]["ids"][0]
    await asyncio.gather(*(p.wait_ready() for p in api_processes))
    first, second = api_processes

    # The second viewer uses the EventSource path: a short-lived token in the query string.
    token = (await client.post(f"{base}/events/token", headers=h)).json()["data"]["token"]
    unauthorized = await client.get(f"{base}/events", params={"token": token + "x"})
    assert unauthorized.status_code == 401

    async with (
        open_stream(f"{first.url}{base}/events", headers=h) as on_first,
        open_stream(f"{second.url}{base}/events", params={"token": token}) as on_second,
    ):
        # Written through the in-test app: neither API process has it in memory.
        edit = await client.put(
            f"{base}/rows/{row_id}/cells/{column}", json={"value": "Acme Inc", "version": 1}, headers=h
        )
        assert edit.status_code == 200
        got_first, got_second = await asyncio.gather(on_first.next_event(), on_second.next_event())
        for event_id, name, data in (got_first, got_second):
            assert name == "cell.updated"
            assert data["payload"]["row_id"] == row_id and data["payload"]["value"] == "Acme Inc"
            assert data["payload"]["version"] == 2 and data["id"] == event_id
        assert got_first[0] == got_second[0]
        last_seen = got_first[0]

    # While nobody watches: a column event and a bulk insert. A reconnect with Last-Event-ID
    # gets exactly those, in order, and nothing it already had.
    await client.post(f"{base}/columns", json={"name": "Employees", "type": "number"}, headers=h)
    await client.post(f"{base}/rows", json={"rows": [{column: "Globex"}, {column: "Initech"}]}, headers=h)
    async with open_stream(f"{second.url}{base}/events", headers={**h, "Last-Event-ID": str(last_seen)}) as resumed:
        column_event = await resumed.next_event()
        rows_event = await resumed.next_event()
    assert column_event[1] == "column.created" and column_event[2]["payload"]["name"] == "Employees"
    assert rows_event[1] == "rows.created" and len(rows_event[2]["payload"]["row_ids"]) == 2
    assert last_seen < column_event[0] < rows_event[0]
