"""Sessions end for access tokens too: logout and reuse detection, the two-tab grace, no-store."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import PASSWORD, TestUser, create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(client: httpx.AsyncClient, user: TestUser) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()["data"]["tokens"]
    return tokens


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_logout_ends_the_access_tokens_of_that_login_only(client: httpx.AsyncClient) -> None:
    user = await register(client)
    workspace = await create_workspace(client, user)
    other = await _login(client, user)

    out = await client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert out.status_code == 200

    me = await client.get("/api/v1/auth/me", headers=user.headers)
    assert me.status_code == 401 and me.json()["error"]["code"] == "invalid_token"
    read = await client.get(f"/api/v1/workspaces/{workspace['id']}", headers=user.headers)
    assert read.status_code == 401
    # The second login of the same user is a different session and keeps working.
    still = await client.get(f"/api/v1/workspaces/{workspace['id']}", headers=_bearer(other["access_token"]))
    assert still.status_code == 200 and still.json()["data"]["id"] == workspace["id"]


async def test_reuse_detection_ends_every_access_token_of_the_family(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = (await _refresh(client, user.refresh_token)).json()["data"]
    second = (await _refresh(client, first["refresh_token"])).json()["data"]
    assert (await client.get("/api/v1/auth/me", headers=_bearer(second["access_token"]))).status_code == 200

    # The oldest token comes back after its successor was itself rotated: theft.
    reuse = await _refresh(client, user.refresh_token)
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "refresh_token_reused"

    for access in (user.access_token, first["access_token"], second["access_token"]):
        me = await client.get("/api/v1/auth/me", headers=_bearer(access))
        assert me.status_code == 401, access
    newest = await _refresh(client, second["refresh_token"])
    assert newest.status_code == 401 and newest.json()["error"]["code"] == "refresh_token_revoked"


async def test_two_tabs_refreshing_with_the_same_token_both_stay_signed_in(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tab_a, tab_b = await asyncio.gather(_refresh(client, user.refresh_token), _refresh(client, user.refresh_token))
    assert tab_a.status_code == 200, tab_a.text
    assert tab_b.status_code == 200, tab_b.text
    pairs = [tab_a.json()["data"], tab_b.json()["data"]]
    assert pairs[0]["refresh_token"] != pairs[1]["refresh_token"]
    for pair in pairs:
        assert (await client.get("/api/v1/auth/me", headers=_bearer(pair["access_token"]))).status_code == 200
    # Each tab goes on rotating its own token.
    for pair in pairs:
        assert (await _refresh(client, pair["refresh_token"])).status_code == 200


async def test_predecessor_replayed_after_the_grace_is_reuse(client: httpx.AsyncClient, session: AsyncSession) -> None:
    user = await register(client)
    pair = (await _refresh(client, user.refresh_token)).json()["data"]
    await session.execute(text("UPDATE refresh_tokens SET used_at = used_at - interval '1 minute'"))
    await session.commit()

    late = await _refresh(client, user.refresh_token)
    assert late.status_code == 401 and late.json()["error"]["code"] == "refresh_token_reused"
    assert (await client.get("/api/v1/auth/me", headers=_bearer(pair["access_token"]))).status_code == 401
    revoked = (
        await session.execute(text("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL AND used_at IS NULL"))
    ).scalar_one()
    assert revoked == 0


async def test_grace_does_not_cover_a_token_older_than_the_last_rotation(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = (await _refresh(client, user.refresh_token)).json()["data"]
    await _refresh(client, first["refresh_token"])
    replay = await _refresh(client, user.refresh_token)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_token_reused"


async def test_grace_does_not_revive_a_logged_out_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    pair = (await _refresh(client, user.refresh_token)).json()["data"]
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})).status_code == 200
    replay = await _refresh(client, user.refresh_token)
    assert replay.status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=_bearer(pair["access_token"]))).status_code == 401


async def test_auth_responses_are_not_stored(client: httpx.AsyncClient) -> None:
    user = await register(client)
    responses = [
        await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}),
        await client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"}),
        await _refresh(client, user.refresh_token),
        await client.get("/api/v1/auth/me", headers=user.headers),
        await client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token}),
        await client.post("/api/v1/auth/register", json={"email": "x@example.com", "password": "short"}),
    ]
    assert [r.status_code for r in responses] == [200, 401, 200, 200, 200, 422]
    for response in responses:
        assert response.headers.get("cache-control") == "no-store", response.request.url
