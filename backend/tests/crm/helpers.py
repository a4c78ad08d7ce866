"""A workspace with a table of people, connected to a CRM through the sandbox's OAuth pages."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from morket_sandbox.server import SandboxServer

from tests.factories import TestUser, create_workspace, register

FINAL = {"completed", "cancelled", "failed"}
COLUMNS = [
    {"name": "Email", "type": "text"},
    {"name": "First", "type": "text"},
    {"name": "Last", "type": "text"},
    {"name": "Company", "type": "text"},
]


def people(count: int, start: int = 0) -> list[dict[str, str | None]]:
    return [
        {"Email": f"person{i}@acme{i % 7}.com", "First": f"First{i}", "Last": f"Last{i}", "Company": f"Acme {i % 7}"}
        for i in range(start, start + count)
    ]


class Workspace:
    def __init__(self, client: httpx.AsyncClient, sandbox: SandboxServer, user: TestUser, ws: str) -> None:
        self.client = client
        self.sandbox = sandbox
        self.user = user
        self.ws = ws
        self.table: dict[str, Any] = {}
        self.col: dict[str, str] = {}

    @classmethod
    async def create(cls, client: httpx.AsyncClient, sandbox: SandboxServer) -> Workspace:
        user = await register(client)
        ws = (await create_workspace(client, user))["id"]
        return cls(client, sandbox, user, ws)

    def url(self, path: str) -> str:
        return f"/api/v1/workspaces/{self.ws}{path}"

    async def post(self, path: str, body: Any, user: TestUser | None = None) -> httpx.Response:
        return await self.client.post(self.url(path), json=body, headers=(user or self.user).headers)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.url(path), params=params, headers=self.user.headers)

    async def add_table(self, rows: list[dict[str, str | None]]) -> None:
        response = await self.post("/tables", {"name": "People", "columns": COLUMNS})
        assert response.status_code == 201, response.text
        self.table = response.json()["data"]
        self.col = {c["name"]: c["id"] for c in self.table["columns"]}
        for start in range(0, len(rows), 500):
            body = {"rows": [{self.col[k]: v for k, v in row.items()} for row in rows[start : start + 500]]}
            added = await self.post(f"/tables/{self.table['id']}/rows", body)
            assert added.status_code == 201, added.text

    async def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = await self.get(f"/tables/{self.table['id']}/rows", **params)
            assert response.status_code == 200, response.text
            body = response.json()
            out.extend(body["data"])
            cursor = (body.get("meta") or {}).get("next_cursor")
            if not cursor:
                return out

    async def columns(self) -> dict[str, str]:
        response = await self.get(f"/tables/{self.table['id']}")
        assert response.status_code == 200, response.text
        return {c["name"]: c["id"] for c in response.json()["data"]["columns"]}

    async def authorize(self, crm: str, user: TestUser | None = None) -> tuple[str, str]:
        """Start connecting and follow the CRM's authorize page: (code, state) of its redirect."""
        started = await self.post("/crm/connections/start", {"crm": crm}, user=user)
        assert started.status_code == 201, started.text
        answer = started.json()["data"]
        async with httpx.AsyncClient() as browser:
            page = await browser.get(answer["authorize_url"])
        assert page.status_code == 302, page.text
        location = urlsplit(page.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == answer["redirect_uri"]
        query = parse_qs(location.query)
        assert query["state"] == [answer["state"]]
        return query["code"][0], query["state"][0]

    async def connect(self, crm: str) -> dict[str, Any]:
        code, state = await self.authorize(crm)
        response = await self.post("/crm/connections/callback", {"code": code, "state": state})
        assert response.status_code == 201, response.text
        connection: dict[str, Any] = response.json()["data"]
        return connection

    async def export(
        self, connection_id: str, object_type: str, mapping: dict[str, str], key: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "table_id": self.table["id"],
            "connection_id": connection_id,
            "object_type": object_type,
            "mapping": [{"column_id": self.col[c], "property": p} for c, p in mapping.items()],
        }
        if key is not None:
            body["key_property"] = key
        return await self.post("/crm/exports", body)

    async def start(self, export_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(f"/crm/exports/{export_id}/runs", body or {})
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()["data"]
        return run

    async def wait(self, run_id: str, until: Any = None, timeout: float = 90.0) -> dict[str, Any]:
        """The run once `until(run)` holds (default: a final status), polled with a deadline."""
        check = until or (lambda r: r["status"] in FINAL)
        deadline = time.monotonic() + timeout
        while True:
            response = await self.get(f"/crm/runs/{run_id}")
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()["data"]
            if check(run):
                return run
            assert time.monotonic() < deadline, f"the run did not get there in {timeout}s: {run}"
            await asyncio.sleep(0.1)

    async def sandbox_admin(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.sandbox.url) as http:
            response = await http.request(method, f"/_admin{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def crm_records(self, crm: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = await self.sandbox_admin("GET", f"/crm/records?provider={crm}")
        return records

    async def upsert_statuses(self, crm: str) -> dict[str, int]:
        stats = await self.sandbox_admin("GET", "/stats")
        counts: dict[str, int] = stats["providers"][crm]["by_status"]
        return counts
