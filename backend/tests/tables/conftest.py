"""Fixtures for the tables tests: a workspace with an owner, and a session factory for services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.factories import TestUser, create_workspace, register


@dataclass
class Workspace:
    id: uuid.UUID
    owner: TestUser

    @property
    def owner_id(self) -> uuid.UUID:
        return uuid.UUID(self.owner.id)

    def url(self, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.id}{path}"


@pytest.fixture
async def workspace(client: httpx.AsyncClient) -> Workspace:
    owner = await register(client)
    ws = await create_workspace(client, owner)
    return Workspace(uuid.UUID(ws["id"]), owner)


async def make_table(
    client: httpx.AsyncClient, ws: Workspace, columns: list[dict[str, Any]], name: str = "Leads"
) -> dict[str, Any]:
    response = await client.post(ws.url("/tables"), json={"name": name, "columns": columns}, headers=ws.owner.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
