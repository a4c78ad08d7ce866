"""One ClickHouse client per process: a server by CLICKHOUSE_URL, or the embedded chDB.

chDB opens one data path per process, and only one process may open a path; the process that
runs the API owns it (docs/analytics.md). Calls are blocking, so they run in a worker thread;
chDB calls are serialised by a lock (one embedded engine, one connection).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import clickhouse_connect
from clickhouse_connect.driver.client import Client

from morket.analytics.schema import DDL

_lock = threading.Lock()
_engines: dict[str, AnalyticsEngine] = {}


class AnalyticsEngine:
    def __init__(self, url: str) -> None:
        self.url = url
        self.embedded = url.startswith("chdb://")
        if self.embedded:
            Path(url.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        self.client: Client = clickhouse_connect.get_client(dsn=url)
        self._calls = threading.Lock() if self.embedded else None
        self._schema_ready = False

    def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._calls is None:
            return fn(*args, **kwargs)
        with self._calls:
            return fn(*args, **kwargs)

    def ensure_schema_sync(self) -> None:
        if self._schema_ready:
            return
        for statement in DDL:
            self._run(self.client.command, statement)
        self._schema_ready = True

    def query_sync(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.ensure_schema_sync()
        result = self._run(self.client.query, sql, parameters=parameters or {})
        return [tuple(row) for row in result.result_rows]

    def insert_sync(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], token: str | None = None
    ) -> None:
        self.ensure_schema_sync()
        if not rows:
            return
        settings = {"insert_deduplication_token": token} if token else None
        # Column-oriented: the Native format is columnar, so handing columns over saves a transpose
        # in Python per value (zip(*rows) does it in C).
        data = list(zip(*rows, strict=True))
        self._run(self.client.insert, table, data, column_names=list(columns), column_oriented=True, settings=settings)

    def insert_raw_sync(self, table: str, data: bytes, fmt: str, settings: dict[str, Any]) -> None:
        """Insert data already in a ClickHouse input format (chDB reads it from a file, a server
        from the request body): no Python object per row."""
        self.ensure_schema_sync()
        self._run(self.client.raw_insert, table, None, data, settings=settings, fmt=fmt)

    def command_sync(self, sql: str) -> None:
        self.ensure_schema_sync()
        self._run(self.client.command, sql)

    async def ensure_schema(self) -> None:
        await anyio.to_thread.run_sync(self.ensure_schema_sync)

    async def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(self.query_sync, sql, parameters)

    async def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], token: str | None = None
    ) -> None:
        await anyio.to_thread.run_sync(self.insert_sync, table, rows, columns, token)

    async def insert_raw(self, table: str, data: bytes, fmt: str, settings: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(self.insert_raw_sync, table, data, fmt, settings)

    async def command(self, sql: str) -> None:
        await anyio.to_thread.run_sync(self.command_sync, sql)


def default_chdb_path() -> Path:
    from morket.devstack.local import state_dir

    return state_dir() / "analytics"


def analytics_url(configured: str | None) -> str:
    """CLICKHOUSE_URL, or chDB under the local state directory (.morket/analytics) when unset."""
    return configured or f"chdb://{default_chdb_path()}"


def get_engine(configured: str | None) -> AnalyticsEngine:
    """The process's engine for this URL (created once: a chDB path can be opened once per process)."""
    url = analytics_url(configured)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = AnalyticsEngine(url)
        return engine
