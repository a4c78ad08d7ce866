"""Invitations replace direct adds: consent of the invitee, no registered-email oracle, tokens
stored hashed, single use, expiring, revocable, and only owners bring in owners."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import unique_email
from tests.factories import TestUser, add_member, create_workspace, invite, register

pytestmark = pytest.mark.usefixtures("clean_db")
ACCEPT = "/api/v1/invitations/accept"


async def _accept(client: httpx.AsyncClient, user: TestUser, token: str) -> httpx.Response:
    return await client.post(ACCEPT, json={"token": token}, headers=user.headers)


async def _roles(client: httpx.AsyncClient, owner: TestUser, ws: str) -> dict[str, str]:
    members = (await client.get(f"/api/v1/workspaces/{ws}/members", headers=owner.headers)).json()["data"]
    return {m["email"]: m["role"] for m in members}


async def test_invitee_joins_only_by_accepting(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, bob = await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    invited = await invite(client, owner, ws, bob.email.upper(), "admin")
    assert invited.status_code == 201, invited.text
    data = invited.json()["data"]
    assert data["status"] == "pending" and data["role"] == "admin" and data["email"] == bob.email
    token = data["token"]
    assert token in data["accept_path"]
    # Not a member until accepted; the token is stored only as its hash.
    assert bob.email not in await _roles(client, owner, ws)
    async with sessions() as session:
        stored = (await session.execute(text("SELECT token_hash FROM workspace_invitations"))).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    pending = await client.get(f"/api/v1/workspaces/{ws}/invitations", headers=owner.headers)
    assert [i["email"] for i in pending.json()["data"]] == [bob.email]
    assert token not in pending.text

    accepted = await _accept(client, bob, token)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["id"] == ws and accepted.json()["data"]["role"] == "admin"
    assert (await _roles(client, owner, ws))[bob.email] == "admin"
    # Single use, and no longer pending.
    again = await _accept(client, bob, token)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_used"
    assert (await client.get(f"/api/v1/workspaces/{ws}/invitations", headers=owner.headers)).json()["data"] == []


async def test_same_answer_whether_or_not_the_email_is_registered(client: httpx.AsyncClient) -> None:
    owner, known = await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    answers = [await invite(client, owner, ws, email, "member") for email in (known.email, unique_email("ghost"))]
    assert [a.status_code for a in answers] == [201, 201]
    shapes = [sorted(a.json()["data"]) for a in answers]
    assert shapes[0] == shapes[1]
    assert [a.json()["data"]["status"] for a in answers] == ["pending", "pending"]
    # Someone who registers later with the invited address can accept.
    late_email = answers[1].json()["data"]["email"]
    late = await register(client, email=late_email)
    assert (await _accept(client, late, answers[1].json()["data"]["token"])).status_code == 200


async def test_admin_cannot_invite_or_grant_owner(client: httpx.AsyncClient) -> None:
    owner, admin, member = await register(client), await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    await add_member(client, owner, ws, admin, "admin")
    await add_member(client, admin, ws, member, "member")
    as_owner = await invite(client, admin, ws, unique_email(), "owner")
    assert as_owner.status_code == 403
    grant = await client.put(
        f"/api/v1/workspaces/{ws}/members/{member.id}/role", json={"role": "owner"}, headers=admin.headers
    )
    assert grant.status_code == 403
    roles = await _roles(client, owner, ws)
    assert list(roles.values()).count("owner") == 1 and roles[member.email] == "member"
    assert (await client.get(f"/api/v1/workspaces/{ws}/invitations", headers=owner.headers)).json()["data"] == []
    # An owner may.
    assert (await invite(client, owner, ws, unique_email(), "owner")).status_code == 201
    # The direct add is gone.
    direct = await client.post(
        f"/api/v1/workspaces/{ws}/members", json={"email": member.email, "role": "owner"}, headers=owner.headers
    )
    assert direct.status_code == 405


async def test_accept_with_another_accounts_email_is_refused(client: httpx.AsyncClient) -> None:
    owner, bob, eve = await register(client), await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    token = (await invite(client, owner, ws, bob.email, "member")).json()["data"]["token"]
    stolen = await _accept(client, eve, token)
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "invitation_for_another_account"
    assert eve.email not in await _roles(client, owner, ws)
    # The invitation is still good for the right person.
    assert (await _accept(client, bob, token)).status_code == 200


async def test_expired_and_revoked_and_unknown_tokens_are_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, admin, bob = await register(client), await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    await add_member(client, owner, ws, admin, "admin")
    token = (await invite(client, owner, ws, bob.email, "member")).json()["data"]["token"]
    async with sessions() as session:
        await session.execute(text("UPDATE workspace_invitations SET expires_at = now() - interval '1 second'"))
        await session.commit()
    expired = await _accept(client, bob, token)
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "invitation_expired"
    assert (await client.get(f"/api/v1/workspaces/{ws}/invitations", headers=owner.headers)).json()["data"] == []

    fresh = (await invite(client, owner, ws, bob.email, "member")).json()["data"]
    owner_invite = (await invite(client, owner, ws, unique_email(), "owner")).json()["data"]
    path = f"/api/v1/workspaces/{ws}/invitations"
    assert (await client.delete(f"{path}/{owner_invite['id']}", headers=admin.headers)).status_code == 403
    revoked = await client.delete(f"{path}/{fresh['id']}", headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["data"]["status"] == "revoked"
    refused = await _accept(client, bob, fresh["token"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invitation_revoked"
    unknown = await _accept(client, bob, "minv_" + "x" * 43)
    assert unknown.status_code == 404
    assert bob.email not in await _roles(client, owner, ws)


async def test_a_new_invitation_replaces_the_open_one(client: httpx.AsyncClient) -> None:
    owner, bob = await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    first = (await invite(client, owner, ws, bob.email, "viewer")).json()["data"]["token"]
    second = (await invite(client, owner, ws, bob.email, "admin")).json()["data"]["token"]
    assert (await _accept(client, bob, first)).json()["error"]["code"] == "invitation_revoked"
    assert (await _accept(client, bob, second)).status_code == 200
    assert (await _roles(client, owner, ws))[bob.email] == "admin"


async def test_concurrent_accepts_make_one_membership(client: httpx.AsyncClient) -> None:
    owner, bob = await register(client), await register(client)
    ws = (await create_workspace(client, owner))["id"]
    token = (await invite(client, owner, ws, bob.email, "member")).json()["data"]["token"]
    results = await asyncio.gather(*(_accept(client, bob, token) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    assert list(await _roles(client, owner, ws)).count(bob.email) == 1


async def test_invitations_of_another_workspace_are_404(client: httpx.AsyncClient) -> None:
    alice, mallory = await register(client), await register(client)
    ws = (await create_workspace(client, alice))["id"]
    theirs = (await create_workspace(client, mallory))["id"]
    pending = (await invite(client, alice, ws, unique_email(), "member")).json()["data"]
    for method, url in (
        ("GET", f"/api/v1/workspaces/{ws}/invitations"),
        ("POST", f"/api/v1/workspaces/{ws}/invitations"),
        ("DELETE", f"/api/v1/workspaces/{ws}/invitations/{pending['id']}"),
        ("DELETE", f"/api/v1/workspaces/{theirs}/invitations/{pending['id']}"),
    ):
        body = {"email": unique_email(), "role": "member"} if method == "POST" else None
        response = await client.request(method, url, json=body, headers=mallory.headers)
        assert response.status_code == 404, (method, url, response.text)
    still = await client.get(f"/api/v1/workspaces/{ws}/invitations", headers=alice.headers)
    assert [i["id"] for i in still.json()["data"]] == [pending["id"]]
