"""Fixtures of the credential vault tests: an app that accepts a service key, and a workspace setup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from morket.app import create_app
from morket.core.config import Settings
from tests.conftest import make_settings
from tests.factories import TestUser, add_member, create_workspace, register

SERVICE_KEY = "svc-" + "k" * 40


@pytest.fixture(scope="session")
def vault_settings(database_url: str) -> Settings:
    return make_settings(database_url, service_api_key=SERVICE_KEY)


@pytest.fixture
async def vault_client(vault_settings: Settings, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, with SERVICE_API_KEY configured so the internal read endpoint is enabled."""
    app = create_app(vault_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@dataclass
class Team:
    workspace_id: str
    owner: TestUser
    admin: TestUser
    member: TestUser
    viewer: TestUser

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace_id}/credentials{suffix}"


async def make_team(client: httpx.AsyncClient, name: str = "Acme GTM") -> Team:
    owner = await register(client)
    workspace = await create_workspace(client, owner, name)
    team = Team(workspace["id"], owner, await register(client), await register(client), await register(client))
    for user, role in ((team.admin, "admin"), (team.member, "member"), (team.viewer, "viewer")):
        await add_member(client, owner, team.workspace_id, user, role)
    return team


@pytest.fixture
async def team(vault_client: httpx.AsyncClient) -> Team:
    return await make_team(vault_client)
