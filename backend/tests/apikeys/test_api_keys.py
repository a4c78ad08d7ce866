"""Workspace API keys: shown once and stored hashed, the key's role and scopes, tenancy, revocation
(in this process and another one at once), last use written at most once a minute, per-key limits."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket.apikeys.service import required_scope
from morket.core.config import Settings
from morket.models import ApiKeyScope
from tests.factories import TestUser, add_member, create_workspace, register
from tests.tables.test_live_events import ApiProcess

pytestmark = pytest.mark.usefixtures("clean_db")


async def create_key(client: httpx.AsyncClient, admin: TestUser, workspace_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "ci")
    response = await client.post(f"/api/v1/workspaces/{workspace_id}/api-keys", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def make_table(client: httpx.AsyncClient, user: TestUser, workspace_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/workspaces/{workspace_id}/tables",
        json={"name": "Leads", "columns": [{"name": "email", "type": "email"}]},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_a_key_is_shown_once_and_stored_as_its_sha256(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    key = await create_key(client, owner, workspace["id"], role="member", scopes=["read", "write"])
    assert key["key"].startswith("mk_") and key["key"].startswith(key["prefix"]) and len(key["key"]) > 40
    assert key["role"] == "member" and key["scopes"] == ["read", "write"]

    listed = await client.get(f"/api/v1/workspaces/{workspace['id']}/api-keys", headers=owner.headers)
    assert listed.status_code == 200
    [row] = listed.json()["data"]
    assert row["prefix"] == key["prefix"] and "key" not in row and key["key"] not in listed.text

    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).one()
    assert stored.key_hash == hashlib.sha256(key["key"].encode()).hexdigest()
    assert stored.prefix == key["prefix"] and len(stored.prefix) == 11

    me = await client.get("/api/v1/api-key", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["data"]["workspace_id"] == workspace["id"] and me.json()["data"]["role"] == "member"


async def test_defaults_are_viewer_and_read_only(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    key = await create_key(client, owner, workspace["id"])
    assert key["role"] == "viewer" and key["scopes"] == ["read"]
    assert key["rate_limit_per_minute"] == 600


async def test_only_admins_manage_keys_and_a_key_is_never_above_member(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    workspace = await create_workspace(client, owner)
    await add_member(client, owner, workspace["id"], member, "member")
    url = f"/api/v1/workspaces/{workspace['id']}/api-keys"
    assert (await client.post(url, json={"name": "x"}, headers=member.headers)).status_code == 403
    assert (await client.get(url, headers=member.headers)).status_code == 403
    for role in ("admin", "owner"):
        too_high = await client.post(url, json={"name": "x", "role": role}, headers=owner.headers)
        assert too_high.status_code == 422 and too_high.json()["error"]["code"] == "api_key_role_too_high"
    bad_scope = await client.post(url, json={"name": "x", "scopes": ["everything"]}, headers=owner.headers)
    assert bad_scope.status_code == 422
    # A key cannot administer keys, even with every scope: administering stays with people.
    key = await create_key(client, owner, workspace["id"], role="member", scopes=["read", "write", "enrich", "billing"])
    assert (await client.get(url, headers=bearer(key))).status_code == 403
    assert (await client.post(url, json={"name": "y"}, headers=bearer(key))).status_code == 403


async def test_the_key_has_its_roles_rights_limited_by_its_scopes(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    ws = workspace["id"]
    table = await make_table(client, owner, ws)
    email_col = table["columns"][0]["id"]
    rows_url = f"/api/v1/workspaces/{ws}/tables/{table['id']}/rows"
    created = await client.post(rows_url, json={"rows": [{email_col: "a@acme.com"}]}, headers=owner.headers)
    assert created.status_code == 201, created.text
    row_id = (await client.get(rows_url, headers=owner.headers)).json()["data"][0]["id"]

    reader = await create_key(client, owner, ws, role="member", scopes=["read"])
    page = await client.get(rows_url, headers=bearer(reader))
    assert page.status_code == 200 and page.json()["data"][0]["cells"][email_col] == "a@acme.com"
    patch = {"rows": [{"id": row_id, "cells": {email_col: "b@acme.com"}}]}
    refused = await client.patch(rows_url, json=patch, headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "api_key_scope_missing"
    assert refused.json()["error"]["details"]["required_scope"] == "write"
    billing = await client.get(f"/api/v1/workspaces/{ws}/billing", headers=bearer(reader))
    assert billing.status_code == 403 and billing.json()["error"]["details"]["required_scope"] == "billing"

    # A viewer key with the write scope is still a viewer.
    viewer = await create_key(client, owner, ws, role="viewer", scopes=["read", "write"])
    as_viewer = await client.patch(rows_url, json=patch, headers=bearer(viewer))
    assert as_viewer.status_code == 403 and as_viewer.json()["error"]["code"] == "forbidden"

    writer = await create_key(client, owner, ws, role="member", scopes=["read", "write"])
    written = await client.patch(rows_url, json=patch, headers=bearer(writer))
    assert written.status_code == 200, written.text
    after = await client.get(f"{rows_url}/{row_id}", headers=owner.headers)
    assert after.json()["data"]["cells"][email_col] == "b@acme.com"
    # User-level routes need a person's sign-in.
    me = await client.get("/api/v1/auth/me", headers=bearer(writer))
    assert me.status_code == 403 and me.json()["error"]["code"] == "api_key_not_supported"


async def test_a_key_of_workspace_a_is_404_on_workspace_b(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client), await register(client)
    a, b = await create_workspace(client, alice, "A"), await create_workspace(client, bob, "B")
    table_b = await make_table(client, bob, b["id"])
    key = await create_key(client, alice, a["id"], role="member", scopes=["read", "write"])
    assert (await client.get(f"/api/v1/workspaces/{a['id']}", headers=bearer(key))).status_code == 200
    for url in (f"/api/v1/workspaces/{b['id']}", f"/api/v1/workspaces/{b['id']}/tables/{table_b['id']}/rows"):
        assert (await client.get(url, headers=bearer(key))).status_code == 404
    # Nor can A's admin see or revoke B's keys by id.
    b_key = await create_key(client, bob, b["id"])
    gone = await client.delete(f"/api/v1/workspaces/{a['id']}/api-keys/{b_key['id']}", headers=alice.headers)
    assert gone.status_code == 404
    assert (await client.get("/api/v1/api-key", headers=bearer(b_key))).status_code == 200


async def test_revocation_and_unknown_keys_are_401(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    key = await create_key(client, owner, workspace["id"])
    url = f"/api/v1/workspaces/{workspace['id']}"
    assert (await client.get(url, headers=bearer(key))).status_code == 200
    assert (await client.get(url, headers=bearer(key))).status_code == 200  # now from the cache
    revoked = await client.delete(f"{url}/api-keys/{key['id']}", headers=owner.headers)
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"] is not None
    refused = await client.get(url, headers=bearer(key))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"
    forged = await client.get(url, headers={"Authorization": "Bearer mk_" + "0" * 51})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_api_key"
    listed = await client.get(f"{url}/api-keys", headers=owner.headers)
    assert listed.json()["data"] == []
    with_revoked = await client.get(f"{url}/api-keys?include_revoked=true", headers=owner.headers)
    assert [k["id"] for k in with_revoked.json()["data"]] == [key["id"]]


async def test_a_key_follows_its_creators_role(client: httpx.AsyncClient) -> None:
    owner, admin = await register(client), await register(client)
    workspace = await create_workspace(client, owner)
    ws = workspace["id"]
    await add_member(client, owner, ws, admin, "admin")
    key = await create_key(client, admin, ws, role="member", scopes=["read", "write"])
    rename = {"name": "Renamed"}
    table = await make_table(client, owner, ws)
    table_url = f"/api/v1/workspaces/{ws}/tables/{table['id']}"
    assert (await client.patch(table_url, json=rename, headers=bearer(key))).status_code == 200
    demoted = await client.put(
        f"/api/v1/workspaces/{ws}/members/{admin.id}/role", json={"role": "viewer"}, headers=owner.headers
    )
    assert demoted.status_code == 200
    assert (await client.patch(table_url, json=rename, headers=bearer(key))).status_code == 403
    assert (await client.get(table_url, headers=bearer(key))).status_code == 200
    removed = await client.delete(f"/api/v1/workspaces/{ws}/members/{admin.id}", headers=owner.headers)
    assert removed.status_code == 200
    gone = await client.get(table_url, headers=bearer(key))
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "api_key_inactive"


async def test_last_use_is_written_once_a_minute_not_per_request(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    key = await create_key(client, owner, workspace["id"])
    assert key["last_used_at"] is None
    url = f"/api/v1/workspaces/{workspace['id']}"
    assert (await client.get(url, headers=bearer(key))).status_code == 200
    async with engine.connect() as conn:
        first = (await conn.execute(text("SELECT last_used_at FROM api_keys"))).scalar_one()
    assert first is not None
    for _ in range(5):
        assert (await client.get(url, headers=bearer(key))).status_code == 200
    async with engine.connect() as conn:
        again = (await conn.execute(text("SELECT last_used_at FROM api_keys"))).scalar_one()
    assert again == first
    # An hour later (moved by hand), the next request writes it again; the SQL guard still holds.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE api_keys SET last_used_at = now() - interval '1 hour'"))
    usage = client._transport.app.state.api_key_usage  # type: ignore[attr-defined]
    usage._written.clear()
    assert (await client.get(url, headers=bearer(key))).status_code == 200
    async with engine.connect() as conn:
        moved = (await conn.execute(text("SELECT last_used_at > now() - interval '1 minute' FROM api_keys"))).scalar()
    assert moved is True


async def test_each_key_has_its_own_rate_limit(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    workspace = await create_workspace(client, owner)
    tight = await create_key(client, owner, workspace["id"], rate_limit_per_minute=3)
    other = await create_key(client, owner, workspace["id"], rate_limit_per_minute=3)
    url = f"/api/v1/workspaces/{workspace['id']}"
    for _ in range(3):
        assert (await client.get(url, headers=bearer(tight))).status_code == 200
    limited = await client.get(url, headers=bearer(tight))
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "api_key_rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await client.get(url, headers=bearer(other))).status_code == 200  # its own budget
    assert (await client.get(url, headers=owner.headers)).status_code == 200  # people are not limited by it


@pytest.fixture
async def two_processes(settings: Settings) -> AsyncIterator[tuple[ApiProcess, ApiProcess]]:
    processes = (ApiProcess(settings), ApiProcess(settings))
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes))
        yield processes
    finally:
        for process in processes:
            process.stop()


async def test_a_revocation_in_one_process_is_refused_by_another_at_once(
    two_processes: tuple[ApiProcess, ApiProcess],
) -> None:
    first, second = two_processes
    async with httpx.AsyncClient(base_url=first.url) as on_first, httpx.AsyncClient(base_url=second.url) as on_second:
        owner = await register(on_first)
        workspace = await create_workspace(on_first, owner)
        key = await create_key(on_first, owner, workspace["id"], role="member", scopes=["read", "write"])
        url = f"/api/v1/workspaces/{workspace['id']}"
        for _ in range(3):  # the second process caches the key
            assert (await on_second.get(url, headers=bearer(key))).status_code == 200
        revoked = await on_first.delete(f"{url}/api-keys/{key['id']}", headers=owner.headers)
        assert revoked.status_code == 200
        refused = await on_second.get(url, headers=bearer(key))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"


_ROUTES = st.sampled_from(
    [
        "/api/v1/workspaces/{workspace_id}",
        "/api/v1/workspaces/{workspace_id}/tables/{table_id}/rows",
        "/api/v1/workspaces/{workspace_id}/tables/{table_id}/runs",
        "/api/v1/workspaces/{workspace_id}/tables/{table_id}/runs/preview",
        "/api/v1/workspaces/{workspace_id}/enrichment-jobs",
        "/api/v1/workspaces/{workspace_id}/billing",
        "/api/v1/workspaces/{workspace_id}/billing/transactions",
        "/api/v1/workspaces/{workspace_id}/tables/{table_id}/export",
    ]
)


@given(method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]), path=_ROUTES)
def test_every_route_needs_exactly_one_scope_and_writes_never_pass_as_reads(method: str, path: str) -> None:
    scope = required_scope(method, path)
    assert isinstance(scope, ApiKeyScope)
    if "/billing" in path:
        assert scope is ApiKeyScope.BILLING
    elif method in ("PATCH", "PUT", "DELETE"):
        assert scope is ApiKeyScope.WRITE
    elif method == "GET":
        assert scope is ApiKeyScope.READ


def test_the_scope_rule_on_known_routes() -> None:
    base = "/api/v1/workspaces/{workspace_id}"
    assert required_scope("POST", f"{base}/tables/{{table_id}}/runs") is ApiKeyScope.ENRICH
    assert required_scope("POST", f"{base}/enrichment-jobs") is ApiKeyScope.ENRICH
    assert required_scope("POST", f"{base}/enrichment-jobs/{{job_id}}/cancel") is ApiKeyScope.ENRICH
    assert required_scope("POST", f"{base}/tables/{{table_id}}/runs/preview") is ApiKeyScope.READ
    assert required_scope("POST", f"{base}/tables/{{table_id}}/rows") is ApiKeyScope.WRITE
    assert required_scope("POST", f"{base}/tables/{{table_id}}/rows/delete") is ApiKeyScope.WRITE
    assert required_scope("GET", f"{base}/billing") is ApiKeyScope.BILLING
