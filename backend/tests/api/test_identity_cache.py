"""The identity cache: a repeated read skips the identity query, and every change of access empties
it at once, in the writing process and, by NOTIFY, in every other API process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket.app import create_app
from morket.auth.identity_cache import NOTIFY_CHANNEL
from morket.core.config import Settings
from tests.api.test_request_path import statements
from tests.factories import add_member, create_workspace, register
from tests.tables.test_live_events import ApiProcess

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
async def app_client(settings: Settings) -> Any:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        assert app.state.identity_cache.listening
        yield app, client


async def test_a_repeated_read_skips_the_identity_query(app_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = app_client
    user = await register(client)
    workspace = await create_workspace(client, user)
    # The new membership's NOTIFY comes back to this process too: let it land before caching.
    await app.state.identity_cache.barrier()
    url = f"/api/v1/workspaces/{workspace['id']}"
    assert (await client.get(url, headers=user.headers)).status_code == 200
    with statements(app.state.engine) as seen:
        again = await client.get(url, headers=user.headers)
    assert again.status_code == 200 and again.json()["data"]["id"] == workspace["id"]
    assert len(seen) == 1 and "memberships" not in seen[0], seen  # the workspace only


async def test_a_role_change_and_a_removal_apply_to_the_next_request(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app_client
    owner, member = await register(client), await register(client)
    workspace = await create_workspace(client, owner)
    await add_member(client, owner, workspace["id"], member, "admin")
    invitations = f"/api/v1/workspaces/{workspace['id']}/invitations"
    assert (await client.get(invitations, headers=member.headers)).status_code == 200  # admin, now cached

    demoted = await client.put(
        f"/api/v1/workspaces/{workspace['id']}/members/{member.id}/role", json={"role": "viewer"}, headers=owner.headers
    )
    assert demoted.status_code == 200
    assert (await client.get(invitations, headers=member.headers)).status_code == 403

    removed = await client.delete(f"/api/v1/workspaces/{workspace['id']}/members/{member.id}", headers=owner.headers)
    assert removed.status_code == 200
    assert (await client.get(f"/api/v1/workspaces/{workspace['id']}", headers=member.headers)).status_code == 404


@pytest.fixture
async def two_processes(settings: Settings) -> AsyncIterator[tuple[ApiProcess, ApiProcess]]:
    processes = (ApiProcess(settings), ApiProcess(settings))
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes))
        yield processes
    finally:
        for process in processes:
            process.stop()


async def test_revocation_and_role_change_in_one_process_are_refused_by_another_at_once(
    two_processes: tuple[ApiProcess, ApiProcess], engine: AsyncEngine
) -> None:
    first, second = two_processes
    async with httpx.AsyncClient(base_url=first.url) as on_first, httpx.AsyncClient(base_url=second.url) as on_second:
        owner, member = await register(on_first), await register(on_first)
        workspace = await create_workspace(on_first, owner)
        await add_member(on_first, owner, workspace["id"], member, "admin")
        ws_url = f"/api/v1/workspaces/{workspace['id']}"
        # The second process learns (and caches) both callers.
        for _ in range(2):
            assert (await on_second.get("/api/v1/auth/me", headers=owner.headers)).status_code == 200
            assert (await on_second.get(f"{ws_url}/invitations", headers=member.headers)).status_code == 200

        # Demoted on the first process: the second refuses the admin read on the very next request.
        demoted = await on_first.put(
            f"{ws_url}/members/{member.id}/role", json={"role": "viewer"}, headers=owner.headers
        )
        assert demoted.status_code == 200
        assert (await on_second.get(f"{ws_url}/invitations", headers=member.headers)).status_code == 403
        assert (await on_second.get(ws_url, headers=member.headers)).status_code == 200  # still a viewer

        # Logged out on the first process: the second refuses that login's access token at once.
        out = await on_first.post("/api/v1/auth/logout", json={"refresh_token": owner.refresh_token})
        assert out.status_code == 200
        me = await on_second.get("/api/v1/auth/me", headers=owner.headers)
        assert me.status_code == 401 and me.json()["error"]["code"] == "invalid_token"
        assert (await on_second.get(ws_url, headers=owner.headers)).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE token_families SET revoked_at = now() WHERE user_id = :uid",
        "DELETE FROM memberships WHERE user_id = :uid",
        "UPDATE users SET name = 'Renamed' WHERE id = :uid",
        "DELETE FROM workspaces WHERE id IN (SELECT workspace_id FROM memberships WHERE user_id = :uid)",
    ],
)
async def test_a_change_written_by_hand_is_announced_by_the_table(
    app_client: tuple[FastAPI, httpx.AsyncClient], settings: Settings, engine: AsyncEngine, change: str
) -> None:
    """The triggers announce writes no API process made (an operator's SQL), at their commit."""
    _, client = app_client
    user = await register(client)
    await create_workspace(client, user)
    listener = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[2]))
        async with engine.begin() as conn:
            await conn.execute(text(change), {"uid": uuid.UUID(user.id)})
            assert heard.empty()  # not before the commit
        assert await asyncio.wait_for(heard.get(), 10) == NOTIFY_CHANNEL
    finally:
        await listener.close()
