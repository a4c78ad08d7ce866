"""The credential vault over HTTP: roles, tenancy, masking, validation and the internal read."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.credentials.conftest import SERVICE_KEY, Team, make_team

APOLLO_KEY = "apollo_live_9f8e7d6c5b4a3210WXYZ"


def internal_url(workspace_id: str, provider: str) -> str:
    return f"/api/v1/internal/workspaces/{workspace_id}/credentials/{provider}"


async def store(client: httpx.AsyncClient, team: Team, **body: object) -> httpx.Response:
    payload: dict[str, object] = {"provider": "apollo", "api_key": APOLLO_KEY}
    payload.update(body)
    return await client.post(team.url(), json=payload, headers=team.admin.headers)


async def test_store_list_mask_and_delete(vault_client: httpx.AsyncClient, team: Team) -> None:
    created = await store(vault_client, team, name="Apollo prod", extra={"region": "eu"})
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["provider"] == "apollo" and data["name"] == "Apollo prod"
    assert data["masked_key"] == "****WXYZ"
    assert data["key_version"] == 1
    assert data["created_by"] == team.admin.id
    assert APOLLO_KEY not in created.text and "extra" not in data and "region" not in created.text

    listed = await vault_client.get(team.url(), headers=team.viewer.headers)
    assert listed.status_code == 200
    assert [c["masked_key"] for c in listed.json()["data"]] == ["****WXYZ"]
    assert APOLLO_KEY not in listed.text

    deleted = await vault_client.delete(team.url(f"/{data['id']}"), headers=team.admin.headers)
    assert deleted.status_code == 200 and deleted.json()["data"] == {"id": data["id"], "deleted": True}
    assert (await vault_client.get(team.url(), headers=team.owner.headers)).json()["data"] == []
    again = await vault_client.delete(team.url(f"/{data['id']}"), headers=team.admin.headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "credential_not_found"


async def test_name_defaults_to_provider(vault_client: httpx.AsyncClient, team: Team) -> None:
    created = await store(vault_client, team, provider="Hunter", api_key="hunter-abcdefgh-1234")
    assert created.status_code == 201
    assert created.json()["data"]["provider"] == "hunter" and created.json()["data"]["name"] == "hunter"


@pytest.mark.parametrize(
    ("role", "method", "expected"),
    [
        ("viewer", "list", 200),
        ("member", "list", 200),
        ("viewer", "create", 403),
        ("member", "create", 403),
        ("admin", "create", 201),
        ("owner", "create", 201),
        ("viewer", "delete", 403),
        ("member", "delete", 403),
        ("admin", "delete", 200),
        ("owner", "delete", 200),
    ],
)
async def test_roles(vault_client: httpx.AsyncClient, team: Team, role: str, method: str, expected: int) -> None:
    user = getattr(team, role)
    existing = (await store(vault_client, team)).json()["data"]["id"]
    if method == "list":
        response = await vault_client.get(team.url(), headers=user.headers)
    elif method == "create":
        response = await vault_client.post(
            team.url(), json={"provider": "clearbit", "api_key": "sk_clearbit_12345678"}, headers=user.headers
        )
    else:
        response = await vault_client.delete(team.url(f"/{existing}"), headers=user.headers)
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["error"]["code"] == "forbidden"


async def test_another_workspace_is_404_for_read_and_delete(vault_client: httpx.AsyncClient, team: Team) -> None:
    ours = (await store(vault_client, team)).json()["data"]["id"]
    other = await make_team(vault_client, "Other Co")

    # The other team's admin, in their own workspace, addressing our credential id.
    response = await vault_client.delete(other.url(f"/{ours}"), headers=other.admin.headers)
    assert response.status_code == 404
    listed = await vault_client.get(other.url(), headers=other.admin.headers)
    assert listed.json()["data"] == []
    # Our workspace's URL, with their token: the workspace itself is hidden.
    for response in (
        await vault_client.get(team.url(), headers=other.owner.headers),
        await vault_client.post(
            team.url(), json={"provider": "apollo", "api_key": "x" * 20}, headers=other.owner.headers
        ),
        await vault_client.delete(team.url(f"/{ours}"), headers=other.owner.headers),
    ):
        assert response.status_code == 404
    # The service read of their workspace does not return ours.
    read = await vault_client.get(internal_url(other.workspace_id, "apollo"), headers={"X-Service-Key": SERVICE_KEY})
    assert read.status_code == 404
    # And ours is still there.
    assert len((await vault_client.get(team.url(), headers=team.viewer.headers)).json()["data"]) == 1


async def test_unknown_ids_and_bad_ids(vault_client: httpx.AsyncClient, team: Team) -> None:
    missing = await vault_client.delete(team.url(f"/{uuid.uuid4()}"), headers=team.admin.headers)
    assert missing.status_code == 404
    malformed = await vault_client.delete(team.url("/not-a-uuid"), headers=team.admin.headers)
    assert malformed.status_code == 422 and malformed.json()["success"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "acme", "api_key": APOLLO_KEY},
        {"provider": "", "api_key": APOLLO_KEY},
        {"provider": "apollo", "api_key": ""},
        {"provider": "apollo", "api_key": "        "},
        {"provider": "apollo", "api_key": "short"},
        {"provider": "apollo", "api_key": APOLLO_KEY + " with spaces"},
        {"provider": "apollo", "api_key": "k" * 5000},
        {"provider": "apollo", "api_key": APOLLO_KEY, "name": "   "},
        {"provider": "apollo", "api_key": APOLLO_KEY, "extra": {"blob": "y" * 9000}},
        {"provider": "apollo", "api_key": APOLLO_KEY, "extra": ["not", "an", "object"]},
        {"provider": "apollo", "api_key": APOLLO_KEY, "unexpected": 1},
        {"provider": "apollo", "api_key": 12345678901},
        {"provider": ["apollo"], "api_key": APOLLO_KEY},
        {"provider": "apollo"},
    ],
)
async def test_bad_input_is_422_and_never_echoes_the_key(
    vault_client: httpx.AsyncClient, team: Team, body: dict[str, object]
) -> None:
    response = await vault_client.post(team.url(), json=body, headers=team.admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert APOLLO_KEY not in response.text and "12345678901" not in response.text


async def test_malformed_json_is_422(vault_client: httpx.AsyncClient, team: Team) -> None:
    response = await vault_client.post(
        team.url(),
        content=b'{"provider": "apollo", "api_key": ',
        headers={**team.admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


async def test_internal_read_needs_the_service_key(vault_client: httpx.AsyncClient, team: Team) -> None:
    await store(vault_client, team)
    url = internal_url(team.workspace_id, "apollo")
    for headers in ({}, {"X-Service-Key": "wrong"}, {"X-Service-Key": SERVICE_KEY + "x"}, team.owner.headers):
        response = await vault_client.get(url, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_service_key"
        assert APOLLO_KEY not in response.text


async def test_internal_read_is_disabled_without_service_key(client: httpx.AsyncClient) -> None:
    response = await client.get(internal_url(str(uuid.uuid4()), "apollo"), headers={"X-Service-Key": SERVICE_KEY})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_auth_disabled"


async def test_internal_read_returns_latest_and_is_audited(
    vault_client: httpx.AsyncClient, team: Team, session: AsyncSession
) -> None:
    await store(vault_client, team, api_key="apollo-old-key-0000", extra={"v": 1})
    newest = (await store(vault_client, team, api_key="apollo-new-key-1111", extra={"v": 2})).json()["data"]
    await store(vault_client, team, provider="hunter", api_key="hunter-key-22222222")
    headers = {"X-Service-Key": SERVICE_KEY, "X-Service-Name": "scraper", "X-Request-Id": "req-123"}

    read = await vault_client.get(internal_url(team.workspace_id, "apollo"), headers=headers)
    assert read.status_code == 200, read.text
    assert read.headers["cache-control"] == "no-store"
    assert read.json()["data"] == {
        "id": newest["id"],
        "provider": "apollo",
        "name": "apollo",
        "api_key": "apollo-new-key-1111",
        "extra": {"v": 2},
    }
    missing = await vault_client.get(internal_url(team.workspace_id, "salesforce"), headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "credential_not_found"
    unknown = await vault_client.get(internal_url(team.workspace_id, "acme"), headers=headers)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_provider"

    rows = (
        await session.execute(
            text(
                "SELECT action, actor, provider, outcome, request_id, credential_id::text FROM credential_access_log "
                "WHERE workspace_id = :ws AND action = 'service_read' ORDER BY created_at"
            ),
            {"ws": team.workspace_id},
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("service_read", "service:scraper", "apollo", "ok", "req-123", newest["id"]),
        ("service_read", "service:scraper", "salesforce", "not_found", "req-123", None),
    ]
    # Creations are audited too, with the user who stored the key.
    created = (
        await session.execute(
            text("SELECT count(*) FROM credential_access_log WHERE workspace_id = :ws AND action = 'created'"),
            {"ws": team.workspace_id},
        )
    ).scalar_one()
    assert created == 3


async def test_audit_log_is_append_only(vault_client: httpx.AsyncClient, team: Team, session: AsyncSession) -> None:
    await store(vault_client, team)
    for statement in ("UPDATE credential_access_log SET actor = 'x'", "DELETE FROM credential_access_log"):
        with pytest.raises(Exception, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()


async def test_workspace_deletion_removes_credentials(
    vault_client: httpx.AsyncClient, team: Team, session: AsyncSession
) -> None:
    await store(vault_client, team)
    response = await vault_client.delete(f"/api/v1/workspaces/{team.workspace_id}", headers=team.owner.headers)
    assert response.status_code == 200
    count = (await session.execute(text("SELECT count(*) FROM credentials"))).scalar_one()
    assert count == 0


def test_service_key_setting_is_validated(database_url: str) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        make_settings(database_url, service_api_key="too-short")
    assert make_settings(database_url, service_api_key="").service_api_key is None
