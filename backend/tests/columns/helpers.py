"""A leads table through the API, with an enrichment column; reading cells back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.enrichment.helpers import FINAL, people
from tests.factories import TestUser

LEAD_COLUMNS = [
    {"name": "First name", "type": "text"},
    {"name": "Last name", "type": "text"},
    {"name": "Domain", "type": "text"},
    {"name": "Segment", "type": "text"},
]


class Leads:
    def __init__(self, client: httpx.AsyncClient, user: TestUser, ws: str, table: dict[str, Any]) -> None:
        self.client = client
        self.user = user
        self.ws = ws
        self.table = table
        self.col = {c["name"]: c["id"] for c in table["columns"]}

    def url(self, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.ws}/tables/{self.table['id']}{path}"

    async def add_column(self, body: dict[str, Any]) -> httpx.Response:
        response = await self.client.post(self.url("/columns"), json=body, headers=self.user.headers)
        if response.status_code == 201:
            self.col[body["name"]] = response.json()["data"]["id"]
        return response

    def enrichment(self, name: str = "Work email", **config: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "field": "email",
            "waterfall": ["apollo", "hunter"],
            "inputs": {
                "first_name": self.col["First name"],
                "last_name": self.col["Last name"],
                "domain": self.col["Domain"],
            },
        }
        base.update(config)
        return {"name": name, "type": "email", "kind": "enrichment", "config": base}

    async def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = await self.client.get(
                self.url("/rows"), params={"offset": offset, "limit": 1000}, headers=self.user.headers
            )
            assert response.status_code == 200, response.text
            batch = response.json()["data"]
            out.extend(batch)
            if len(batch) < 1000:
                return out
            offset += 1000

    async def run(self, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        response = await self.client.post(self.url("/runs"), json=body, headers=self.user.headers)
        assert response.status_code == expect, response.text
        data: dict[str, Any] = response.json()["data"] if expect == 201 else response.json()["error"]
        return data


async def leads_table(
    client: httpx.AsyncClient, user: TestUser, ws: str, n: int, tag: str = "col", segment: str = "smb"
) -> Leads:
    response = await client.post(
        f"/api/v1/workspaces/{ws}/tables", json={"name": f"Leads {tag}", "columns": LEAD_COLUMNS}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    leads = Leads(client, user, ws, response.json()["data"])
    rows = [
        {
            leads.col["First name"]: p["first_name"],
            leads.col["Last name"]: p["last_name"],
            leads.col["Domain"]: p["domain"],
            leads.col["Segment"]: segment if i % 2 == 0 else "enterprise",
        }
        for i, p in enumerate(people(n, tag=tag))
    ]
    if rows:
        added = await client.post(leads.url("/rows"), json={"rows": rows}, headers=user.headers)
        assert added.status_code == 201, added.text
    return leads


async def wait_for_run(client: httpx.AsyncClient, user: TestUser, ws: str, job_id: str, timeout: float = 120.0) -> Any:
    """Like the enrichment helper's wait, with `budget_reached` among the final statuses."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        job = response.json()["data"]
        if job["status"] in {*FINAL, "budget_reached"}:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"run did not finish in {timeout}s: {job}")
        await asyncio.sleep(0.2)
