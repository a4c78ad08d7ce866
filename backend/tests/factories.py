"""Plain async factories for test data, through the public HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import unique_email

PASSWORD = "correct horse battery staple"


@dataclass
class TestUser:
    __test__ = False

    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD) -> TestUser:
    email = email or unique_email()
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": "T"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return TestUser(
        id=data["user"]["id"],
        email=email,
        access_token=data["tokens"]["access_token"],
        refresh_token=data["tokens"]["refresh_token"],
    )


async def create_workspace(client: httpx.AsyncClient, user: TestUser, name: str = "Acme GTM") -> dict[str, Any]:
    response = await client.post("/api/v1/workspaces", json={"name": name}, headers=user.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def add_member(
    client: httpx.AsyncClient, owner: TestUser, workspace_id: str, member: TestUser, role: str
) -> None:
    response = await client.post(
        f"/api/v1/workspaces/{workspace_id}/members", json={"email": member.email, "role": role}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
