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


async def invite(
    client: httpx.AsyncClient, inviter: TestUser, workspace_id: str, email: str, role: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/workspaces/{workspace_id}/invitations", json={"email": email, "role": role}, headers=inviter.headers
    )


async def add_member(
    client: httpx.AsyncClient, owner: TestUser, workspace_id: str, member: TestUser, role: str
) -> None:
    """Invite `member` and accept as them: the one way into a workspace."""
    invited = await invite(client, owner, workspace_id, member.email, role)
    assert invited.status_code == 201, invited.text
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": invited.json()["data"]["token"]}, headers=member.headers
    )
    assert accepted.status_code == 200, accepted.text
