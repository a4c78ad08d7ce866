"""`Morket` and `AsyncMorket`: thin, typed calls over the API's envelope.

Every answer is `{"success", "data", "error", "meta"}`; a call returns `data` or raises
`MorketError` with the error's status, code, message and details. Authentication is a workspace
API key (`Authorization: Bearer mk_...`); the workspace is learnt from the key (`GET /api/v1/api-key`).
Both classes share the request building (`_Requests`) and differ only in how they send.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx

JSON = dict[str, Any]
FINAL_JOB_STATUSES = frozenset({"completed", "partially_completed", "failed", "cancelled", "budget_reached"})
FINAL_CRM_RUN_STATUSES = frozenset({"completed", "cancelled", "failed"})
# What changes while a CRM export run goes: a new value of any of these is progress.
CRM_RUN_PROGRESS = (
    "status",
    "row_count",
    "pushed_count",
    "created_count",
    "updated_count",
    "failed_count",
    "skipped_count",
    "batches",
)


class MorketError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def _unwrap(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise MorketError(response.status_code, "invalid_response", response.text[:200]) from None
    if not isinstance(body, dict) or not body.get("success", False):
        error = (body or {}).get("error") or {} if isinstance(body, dict) else {}
        raise MorketError(
            response.status_code, error.get("code", "error"), error.get("message", ""), error.get("details")
        )
    return body.get("data")


def _settings(api_key: str | None, base_url: str | None) -> tuple[str, str]:
    key = api_key or os.environ.get("MORKET_API_KEY")
    if not key:
        raise ValueError("an API key is needed: pass api_key= or set MORKET_API_KEY")
    url = base_url or os.environ.get("MORKET_URL") or "http://127.0.0.1:8000"
    return key, url.rstrip("/")


def _cells(table: JSON, row: Mapping[str, Any]) -> JSON:
    """A row keyed by column name (or id) -> keyed by column id, as the rows API takes it."""
    by_name = {c["name"]: c["id"] for c in table["columns"]}
    ids = set(by_name.values())
    cells: JSON = {}
    for key, value in row.items():
        if key in ids:
            cells[key] = value
        elif key in by_name:
            cells[by_name[key]] = value
        else:
            raise ValueError(f"table {table['name']!r} has no column {key!r}")
    return cells


def _crm_run_body(row_ids: Sequence[int] | None, force: bool) -> JSON:
    body: JSON = {"force": force}
    if row_ids:
        body["row_ids"] = list(row_ids)
    return body


def _progress(run: JSON) -> tuple[Any, ...]:
    return tuple(run.get(name) for name in CRM_RUN_PROGRESS)


def _column_id(table: JSON, column: str) -> str:
    for c in table["columns"]:
        if column in (c["id"], c["name"]):
            return str(c["id"])
    raise ValueError(f"table {table['name']!r} has no column {column!r}")


class Morket:
    """The synchronous client. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        key, url = _settings(api_key, base_url)
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, transport=transport, timeout=timeout
        )
        self._workspace_id: str | None = None

    def __enter__(self) -> Morket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return _unwrap(self._http.request(method, path, **kwargs))

    def key(self) -> JSON:
        """The API key in use: its workspace, role, scopes and rate limit."""
        data: JSON = self.request("GET", "/api/v1/api-key")
        self._workspace_id = data["workspace_id"]
        return data

    @property
    def workspace_id(self) -> str:
        if self._workspace_id is None:
            self.key()
        assert self._workspace_id is not None
        return self._workspace_id

    def ws(self, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace_id}{path}"

    def paginate(self, path: str, *, limit: int = 100, **params: Any) -> Iterator[Any]:
        """Every item of a `page`/`limit` list, page after page."""
        page = 1
        while True:
            response = self._http.get(path, params={**params, "page": page, "limit": limit})
            items = _unwrap(response)
            yield from items
            total = response.json().get("meta", {}).get("total", 0)
            if not items or page * limit >= total:
                return
            page += 1

    def tables(self) -> list[JSON]:
        return list(self.paginate(self.ws("/tables")))

    def table(self, table_id: str) -> JSON:
        data: JSON = self.request("GET", self.ws(f"/tables/{table_id}"))
        return data

    def find_table(self, name: str) -> JSON | None:
        """The table of that name, with its columns, or None."""
        for table in self.tables():
            if table["name"] == name:
                return self.table(table["id"])
        return None

    def create_table(self, name: str, columns: Sequence[Mapping[str, Any]]) -> JSON:
        data: JSON = self.request("POST", self.ws("/tables"), json={"name": name, "columns": list(columns)})
        return data

    def add_rows(self, table_id: str, rows: Sequence[Mapping[str, Any]], *, chunk: int = 5000) -> list[int]:
        """Append rows keyed by column name or id, in chunks (each chunk all or nothing); the new ids."""
        table = self.table(table_id)
        ids: list[int] = []
        for start in range(0, len(rows), chunk):
            body = {"rows": [_cells(table, r) for r in rows[start : start + chunk]]}
            ids.extend(self.request("POST", self.ws(f"/tables/{table_id}/rows"), json=body)["ids"])
        return ids

    def iter_rows(self, table_id: str, *, page_size: int = 1000, **params: Any) -> Iterator[JSON]:
        """Every row (of a filter/sort if given), by the keyset cursor: deep pages cost what the first does."""
        cursor: str | None = None
        while True:
            query = {**params, "limit": page_size, **({"cursor": cursor} if cursor else {})}
            response = self._http.get(self.ws(f"/tables/{table_id}/rows"), params=query)
            yield from _unwrap(response)
            cursor = (response.json().get("meta") or {}).get("next_cursor")
            if not cursor:
                return

    def run_column(self, table_id: str, column: str, **options: Any) -> list[JSON]:
        """Run an enrichment column (name or id) on the table; the jobs started (one per column)."""
        column_id = _column_id(self.table(table_id), column)
        data = self.request("POST", self.ws(f"/tables/{table_id}/runs"), json={"column_ids": [column_id], **options})
        return [run["job"] for run in data["runs"] if run["job"] is not None]

    def job(self, job_id: str) -> JSON:
        data: JSON = self.request("GET", self.ws(f"/enrichment-jobs/{job_id}"))
        return data

    def wait_for_job(self, job_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> JSON:
        """The job once it is final; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in FINAL_JOB_STATUSES:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout:.0f} s")
            time.sleep(poll)

    def export_csv(self, table_id: str, out: Any) -> int:
        """Stream the table as CSV into the binary file `out`; the bytes written."""
        written = 0
        with self._http.stream("GET", self.ws(f"/tables/{table_id}/export"), params={"format": "csv"}) as response:
            if response.status_code != 200:
                response.read()
                _unwrap(response)
            for chunk in response.iter_bytes():
                out.write(chunk)
                written += len(chunk)
        return written

    def crm_exports(self, table_id: str | None = None) -> list[JSON]:
        """The workspace's CRM exports (docs/crm.md), or one table's."""
        params = {"table_id": table_id} if table_id else {}
        data: list[JSON] = self.request("GET", self.ws("/crm/exports"), params=params)
        return data

    def start_crm_run(self, export_id: str, *, row_ids: Sequence[int] | None = None, force: bool = False) -> JSON:
        """Push the export's rows (all, or `row_ids`; `force`: unchanged ones too); the queued run."""
        body = _crm_run_body(row_ids, force)
        data: JSON = self.request("POST", self.ws(f"/crm/exports/{export_id}/runs"), json=body)
        return data

    def crm_run(self, run_id: str) -> JSON:
        data: JSON = self.request("GET", self.ws(f"/crm/runs/{run_id}"))
        return data

    def follow_crm_run(self, run_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> Iterator[JSON]:
        """The run each time its status or counts change, the final one last; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        seen: tuple[Any, ...] | None = None
        while True:
            run = self.crm_run(run_id)
            if _progress(run) != seen:
                seen = _progress(run)
                yield run
            if run["status"] in FINAL_CRM_RUN_STATUSES:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRM run {run_id} is still {run['status']} after {timeout:.0f} s")
            time.sleep(poll)


class AsyncMorket:
    """The asynchronous client: the same calls as `Morket`, awaited."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        key, url = _settings(api_key, base_url)
        self._http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, transport=transport, timeout=timeout
        )
        self._workspace_id: str | None = None

    async def __aenter__(self) -> AsyncMorket:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return _unwrap(await self._http.request(method, path, **kwargs))

    async def key(self) -> JSON:
        data: JSON = await self.request("GET", "/api/v1/api-key")
        self._workspace_id = data["workspace_id"]
        return data

    async def ws(self, path: str = "") -> str:
        if self._workspace_id is None:
            await self.key()
        return f"/api/v1/workspaces/{self._workspace_id}{path}"

    async def paginate(self, path: str, *, limit: int = 100, **params: Any) -> AsyncIterator[Any]:
        page = 1
        while True:
            response = await self._http.get(path, params={**params, "page": page, "limit": limit})
            items = _unwrap(response)
            for item in items:
                yield item
            total = response.json().get("meta", {}).get("total", 0)
            if not items or page * limit >= total:
                return
            page += 1

    async def tables(self) -> list[JSON]:
        return [t async for t in self.paginate(await self.ws("/tables"))]

    async def table(self, table_id: str) -> JSON:
        data: JSON = await self.request("GET", await self.ws(f"/tables/{table_id}"))
        return data

    async def create_table(self, name: str, columns: Sequence[Mapping[str, Any]]) -> JSON:
        data: JSON = await self.request("POST", await self.ws("/tables"), json={"name": name, "columns": list(columns)})
        return data

    async def add_rows(self, table_id: str, rows: Sequence[Mapping[str, Any]], *, chunk: int = 5000) -> list[int]:
        table = await self.table(table_id)
        ids: list[int] = []
        for start in range(0, len(rows), chunk):
            body = {"rows": [_cells(table, r) for r in rows[start : start + chunk]]}
            data = await self.request("POST", await self.ws(f"/tables/{table_id}/rows"), json=body)
            ids.extend(data["ids"])
        return ids

    async def iter_rows(self, table_id: str, *, page_size: int = 1000, **params: Any) -> AsyncIterator[JSON]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": page_size, **({"cursor": cursor} if cursor else {})}
            response = await self._http.get(await self.ws(f"/tables/{table_id}/rows"), params=query)
            for row in _unwrap(response):
                yield row
            cursor = (response.json().get("meta") or {}).get("next_cursor")
            if not cursor:
                return

    async def run_column(self, table_id: str, column: str, **options: Any) -> list[JSON]:
        column_id = _column_id(await self.table(table_id), column)
        body = {"column_ids": [column_id], **options}
        data = await self.request("POST", await self.ws(f"/tables/{table_id}/runs"), json=body)
        return [run["job"] for run in data["runs"] if run["job"] is not None]

    async def job(self, job_id: str) -> JSON:
        data: JSON = await self.request("GET", await self.ws(f"/enrichment-jobs/{job_id}"))
        return data

    async def wait_for_job(self, job_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> JSON:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if job["status"] in FINAL_JOB_STATUSES:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout:.0f} s")
            await asyncio.sleep(poll)

    async def crm_exports(self, table_id: str | None = None) -> list[JSON]:
        params = {"table_id": table_id} if table_id else {}
        data: list[JSON] = await self.request("GET", await self.ws("/crm/exports"), params=params)
        return data

    async def start_crm_run(self, export_id: str, *, row_ids: Sequence[int] | None = None, force: bool = False) -> JSON:
        body = _crm_run_body(row_ids, force)
        data: JSON = await self.request("POST", await self.ws(f"/crm/exports/{export_id}/runs"), json=body)
        return data

    async def crm_run(self, run_id: str) -> JSON:
        data: JSON = await self.request("GET", await self.ws(f"/crm/runs/{run_id}"))
        return data

    async def follow_crm_run(self, run_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> AsyncIterator[JSON]:
        deadline = time.monotonic() + timeout
        seen: tuple[Any, ...] | None = None
        while True:
            run = await self.crm_run(run_id)
            if _progress(run) != seen:
                seen = _progress(run)
                yield run
            if run["status"] in FINAL_CRM_RUN_STATUSES:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRM run {run_id} is still {run['status']} after {timeout:.0f} s")
            await asyncio.sleep(poll)
