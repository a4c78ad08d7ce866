from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.factories import add_member, create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")


async def test_create_list_get_two_workspaces(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    first = await create_workspace(client, owner, "Acme Sales")
    second = await create_workspace(client, owner, "Acme Sales")
    assert first["slug"] == "acme-sales"
    assert second["slug"].startswith("acme-sales-") and second["slug"] != first["slug"]
    assert first["role"] == "owner"
    listed = await client.get("/api/v1/workspaces", headers=owner.headers)
    assert [w["id"] for w in listed.json()["data"]] == [first["id"], second["id"]]
    for ws in (first, second):
        got = await client.get(f"/api/v1/workspaces/{ws['id']}", headers=owner.headers)
        assert got.status_code == 200 and got.json()["data"]["name"] == "Acme Sales"


async def test_list_shows_only_own_workspaces(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client), await register(client)
    await create_workspace(client, alice, "Alice Co")
    bobs = await create_workspace(client, bob, "Bob Co")
    listed = await client.get("/api/v1/workspaces", headers=bob.headers)
    assert [w["id"] for w in listed.json()["data"]] == [bobs["id"]]


async def test_foreign_workspace_is_404_not_403(client: httpx.AsyncClient) -> None:
    alice, mallory = await register(client), await register(client)
    ws = await create_workspace(client, alice)
    for method, path in [
        ("GET", f"/api/v1/workspaces/{ws['id']}"),
        ("PUT", f"/api/v1/workspaces/{ws['id']}"),
        ("DELETE", f"/api/v1/workspaces/{ws['id']}"),
        ("GET", f"/api/v1/workspaces/{uuid.uuid4()}"),
    ]:
        response = await client.request(method, path, json={"name": "x"}, headers=mallory.headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"


async def test_viewer_can_read_but_not_change(client: httpx.AsyncClient) -> None:
    owner, viewer = await register(client), await register(client)
    ws = await create_workspace(client, owner)
    await add_member(client, owner, ws["id"], viewer, "viewer")
    base = f"/api/v1/workspaces/{ws['id']}"
    assert (await client.get(base, headers=viewer.headers)).status_code == 200
    assert (await client.get(f"{base}/members", headers=viewer.headers)).status_code == 200
    rename = await client.put(base, json={"name": "Hijacked"}, headers=viewer.headers)
    assert rename.status_code == 403 and rename.json()["error"]["code"] == "forbidden"
    invited = await client.post(
        f"{base}/invitations", json={"email": "friend@example.com", "role": "admin"}, headers=viewer.headers
    )
    assert invited.status_code == 403
    promote = await client.put(f"{base}/members/{viewer.id}/role", json={"role": "admin"}, headers=viewer.headers)
    assert promote.status_code == 403
    delete = await client.delete(base, headers=viewer.headers)
    assert delete.status_code == 403
    still = await client.get(base, headers=owner.headers)
    assert still.json()["data"]["name"] == ws["name"]


async def test_admin_manages_members_but_not_owners(client: httpx.AsyncClient) -> None:
    owner, admin, member = await register(client), await register(client), await register(client)
    ws = await create_workspace(client, owner)
    base = f"/api/v1/workspaces/{ws['id']}"
    await add_member(client, owner, ws["id"], admin, "admin")
    await add_member(client, admin, ws["id"], member, "member")
    again = await client.post(f"{base}/invitations", json={"email": member.email}, headers=admin.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_member"
    grant_owner = await client.put(f"{base}/members/{member.id}/role", json={"role": "owner"}, headers=admin.headers)
    assert grant_owner.status_code == 403
    demote_owner = await client.put(f"{base}/members/{owner.id}/role", json={"role": "viewer"}, headers=admin.headers)
    assert demote_owner.status_code == 403
    remove_owner = await client.delete(f"{base}/members/{owner.id}", headers=admin.headers)
    assert remove_owner.status_code == 403
    to_viewer = await client.put(f"{base}/members/{member.id}/role", json={"role": "viewer"}, headers=admin.headers)
    assert to_viewer.status_code == 200 and to_viewer.json()["data"]["role"] == "viewer"
    removed = await client.delete(f"{base}/members/{member.id}", headers=admin.headers)
    assert removed.status_code == 200
    gone = await client.get(base, headers=member.headers)
    assert gone.status_code == 404


async def test_last_owner_protection(client: httpx.AsyncClient) -> None:
    owner, second = await register(client), await register(client)
    ws = await create_workspace(client, owner)
    base = f"/api/v1/workspaces/{ws['id']}"
    demote = await client.put(f"{base}/members/{owner.id}/role", json={"role": "admin"}, headers=owner.headers)
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_owner"
    leave = await client.delete(f"{base}/members/{owner.id}", headers=owner.headers)
    assert leave.status_code == 409
    await add_member(client, owner, ws["id"], second, "owner")
    assert (
        await client.put(f"{base}/members/{owner.id}/role", json={"role": "admin"}, headers=owner.headers)
    ).status_code == 200
    last = await client.put(f"{base}/members/{second.id}/role", json={"role": "member"}, headers=second.headers)
    assert last.status_code == 409


async def test_concurrent_demotions_keep_an_owner(client: httpx.AsyncClient) -> None:
    a, b = await register(client), await register(client)
    ws = await create_workspace(client, a)
    await add_member(client, a, ws["id"], b, "owner")
    base = f"/api/v1/workspaces/{ws['id']}"
    results = await asyncio.gather(
        client.put(f"{base}/members/{a.id}/role", json={"role": "admin"}, headers=b.headers),
        client.put(f"{base}/members/{b.id}/role", json={"role": "admin"}, headers=a.headers),
    )
    # One demotion wins; the other is refused (409 last owner, or 403 if its actor lost the role first).
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200 and codes[1] in {403, 409}
    members = (await client.get(f"{base}/members", headers=a.headers)).json()["data"]
    assert [m["role"] for m in members].count("owner") == 1


async def test_member_may_leave_and_delete_is_owner_only(client: httpx.AsyncClient) -> None:
    owner, admin = await register(client), await register(client)
    ws = await create_workspace(client, owner)
    base = f"/api/v1/workspaces/{ws['id']}"
    await add_member(client, owner, ws["id"], admin, "admin")
    assert (await client.delete(base, headers=admin.headers)).status_code == 403
    assert (await client.delete(f"{base}/members/{admin.id}", headers=admin.headers)).status_code == 200
    assert (await client.delete(base, headers=owner.headers)).status_code == 200
    assert (await client.get(base, headers=owner.headers)).status_code == 404


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 5}, {"name": "ok", "slug": "x"}]
)
async def test_workspace_validation(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    owner = await register(client)
    response = await client.post("/api/v1/workspaces", json=body, headers=owner.headers)
    assert response.status_code == 422 and response.json()["success"] is False


async def test_bad_ids_and_roles_are_4xx(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = await create_workspace(client, owner)
    assert (await client.get("/api/v1/workspaces/not-a-uuid", headers=owner.headers)).status_code == 422
    bad_role = await client.put(
        f"/api/v1/workspaces/{ws['id']}/members/{owner.id}/role", json={"role": "god"}, headers=owner.headers
    )
    assert bad_role.status_code == 422
    missing = await client.put(
        f"/api/v1/workspaces/{ws['id']}/members/{uuid.uuid4()}/role", json={"role": "admin"}, headers=owner.headers
    )
    assert missing.status_code == 404


async def test_unicode_names_slugify(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = await create_workspace(client, owner, "Café Ünïcode ✨")
    assert ws["slug"] == "cafe-unicode"
    only_symbols = await create_workspace(client, owner, "✨✨")
    assert only_symbols["slug"] == "workspace"
