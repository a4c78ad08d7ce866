"""Billing over HTTP: balances, adding credits, the transactions page, auto-recharge settings."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.credits.service import CreditService
from tests.factories import TestUser, add_member, create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")


class Billing:
    def __init__(self, workspace_id: str, users: dict[str, TestUser]) -> None:
        self.workspace_id = workspace_id
        self.users = users

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace_id}/billing{suffix}"

    def headers(self, role: str) -> dict[str, str]:
        return self.users[role].headers


async def make_billing(client: httpx.AsyncClient, name: str = "Acme") -> Billing:
    owner = await register(client)
    workspace = await create_workspace(client, owner, name)
    users = {"owner": owner}
    for role in ("admin", "member", "viewer"):
        users[role] = await register(client)
        await add_member(client, owner, workspace["id"], users[role], role)
    return Billing(workspace["id"], users)


@pytest.fixture
async def billing(client: httpx.AsyncClient) -> Billing:
    return await make_billing(client)


async def add(
    client: httpx.AsyncClient, billing: Billing, amount: Any, description: Any = "Credit pack", **extra: Any
) -> httpx.Response:
    return await client.post(
        billing.url("/credits"),
        json={"amount": amount, "description": description, **extra},
        headers=billing.headers("owner"),
    )


async def test_new_user_journey(client: httpx.AsyncClient, billing: Billing) -> None:
    empty = await client.get(billing.url(), headers=billing.headers("viewer"))
    assert empty.status_code == 200
    assert empty.json()["data"] == {
        "balance": 0,
        "reserved": 0,
        "available": 0,
        "auto_recharge": {"enabled": False, "threshold": 0, "amount": 0},
    }
    for n in range(1, 26):
        response = await add(client, billing, n * 10, f"Pack {n}")
        assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["balance"] == data["available"] == 3250 and data["replayed"] is False
    assert data["transaction"]["type"] == "purchase" and data["transaction"]["amount"] == 250
    assert data["transaction"]["created_by"] == billing.users["owner"].id

    page1 = await client.get(billing.url("/transactions"), headers=billing.headers("viewer"))
    assert page1.status_code == 200
    body = page1.json()
    assert body["meta"] == {"page": 1, "limit": 20, "total": 25}
    assert [t["description"] for t in body["data"][:3]] == ["Pack 25", "Pack 24", "Pack 23"]
    assert body["data"][0]["balance_after"] == 3250
    page2 = await client.get(billing.url("/transactions?page=2&limit=20"), headers=billing.headers("member"))
    assert page2.json()["meta"] == {"page": 2, "limit": 20, "total": 25}
    assert [t["description"] for t in page2.json()["data"]] == [f"Pack {n}" for n in range(5, 0, -1)]
    beyond = await client.get(billing.url("/transactions?page=9&limit=5"), headers=billing.headers("member"))
    assert beyond.json()["data"] == [] and beyond.json()["meta"]["total"] == 25

    account = await client.get(billing.url(), headers=billing.headers("member"))
    assert account.json()["data"]["balance"] == 3250


async def test_idempotent_add(client: httpx.AsyncClient, billing: Billing) -> None:
    first = await add(client, billing, 100, idempotency_key="stripe-pi-1")
    second = await add(client, billing, 100, idempotency_key="stripe-pi-1")
    assert first.status_code == second.status_code == 201
    assert second.json()["data"]["replayed"] is True
    assert second.json()["data"]["transaction"] == first.json()["data"]["transaction"]
    assert second.json()["data"]["balance"] == 100
    clash = await add(client, billing, 200, idempotency_key="stripe-pi-1")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(("role", "expected"), [("owner", 201), ("admin", 403), ("member", 403), ("viewer", 403)])
async def test_only_owner_adds_credits(client: httpx.AsyncClient, billing: Billing, role: str, expected: int) -> None:
    response = await client.post(
        billing.url("/credits"), json={"amount": 5, "description": "x"}, headers=billing.headers(role)
    )
    assert response.status_code == expected


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("admin", 403), ("member", 403), ("viewer", 403)])
async def test_only_owner_configures_auto_recharge(
    client: httpx.AsyncClient, billing: Billing, role: str, expected: int
) -> None:
    response = await client.put(
        billing.url(),
        json={"auto_recharge": {"enabled": True, "threshold": 100, "amount": 500}},
        headers=billing.headers(role),
    )
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["data"]["auto_recharge"] == {"enabled": True, "threshold": 100, "amount": 500}
        read = await client.get(billing.url(), headers=billing.headers("viewer"))
        assert read.json()["data"]["auto_recharge"] == {"enabled": True, "threshold": 100, "amount": 500}


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
async def test_every_member_reads(client: httpx.AsyncClient, billing: Billing, role: str) -> None:
    for path in ("", "/transactions"):
        assert (await client.get(billing.url(path), headers=billing.headers(role))).status_code == 200


async def test_other_workspace_is_404(client: httpx.AsyncClient, billing: Billing) -> None:
    other = await make_billing(client, "Other")
    outsider = other.headers("owner")
    assert (await client.get(billing.url(), headers=outsider)).status_code == 404
    assert (await client.get(billing.url("/transactions"), headers=outsider)).status_code == 404
    assert (await add_as(client, billing, outsider)).status_code == 404
    put = await client.put(billing.url(), json={"auto_recharge": {"enabled": False}}, headers=outsider)
    assert put.status_code == 404
    unknown = f"/api/v1/workspaces/{uuid.uuid4()}/billing"
    assert (await client.get(unknown, headers=outsider)).status_code == 404
    # And their own ledger does not show ours.
    await add(client, billing, 10)
    theirs = await client.get(other.url("/transactions"), headers=outsider)
    assert theirs.json()["data"] == [] and theirs.json()["meta"]["total"] == 0


async def add_as(client: httpx.AsyncClient, billing: Billing, headers: dict[str, str]) -> httpx.Response:
    return await client.post(billing.url("/credits"), json={"amount": 5, "description": "x"}, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0, "description": "x"},
        {"amount": -5, "description": "x"},
        {"amount": 1_000_000_001, "description": "x"},
        {"amount": 10**30, "description": "x"},
        {"amount": 1e308, "description": "x"},
        {"amount": 5.5, "description": "x"},
        {"amount": "5", "description": "x"},
        {"amount": True, "description": "x"},
        {"amount": None, "description": "x"},
        {"amount": 5},
        {"amount": 5, "description": ""},
        {"amount": 5, "description": "   "},
        {"amount": 5, "description": "d" * 501},
        {"amount": 5, "description": "x", "idempotency_key": ""},
        {"amount": 5, "description": "x", "idempotency_key": "k" * 194},
        {"amount": 5, "description": "x", "type": "adjustment"},
        [],
    ],
)
async def test_bad_credit_input_is_422(client: httpx.AsyncClient, billing: Billing, body: Any) -> None:
    response = await client.post(billing.url("/credits"), json=body, headers=billing.headers("owner"))
    assert response.status_code == 422, response.text
    assert response.json()["success"] is False and response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"auto_recharge": {"enabled": True, "threshold": 0, "amount": 100}},
        {"auto_recharge": {"enabled": True, "threshold": 100, "amount": 0}},
        {"auto_recharge": {"enabled": True, "threshold": -1, "amount": 100}},
        {"auto_recharge": {"enabled": True, "threshold": 100, "amount": 10**12}},
        {"auto_recharge": {"enabled": "sometimes", "threshold": 1, "amount": 1}},
        {"auto_recharge": {"threshold": 1, "amount": 1}},
        {"enabled": True},
        {},
    ],
)
async def test_bad_auto_recharge_input_is_422(client: httpx.AsyncClient, billing: Billing, body: Any) -> None:
    response = await client.put(billing.url(), json=body, headers=billing.headers("owner"))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "query", ["page=0", "page=-1", "limit=0", "limit=101", "page=abc", "limit=1.5", "page=10000000000000000000000"]
)
async def test_bad_pagination_is_422(client: httpx.AsyncClient, billing: Billing, query: str) -> None:
    response = await client.get(billing.url(f"/transactions?{query}"), headers=billing.headers("viewer"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_auto_recharge_through_the_api(
    client: httpx.AsyncClient, billing: Billing, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await add(client, billing, 50)
    configured = await client.put(
        billing.url(),
        json={"auto_recharge": {"enabled": True, "threshold": 100, "amount": 500}},
        headers=billing.headers("owner"),
    )
    assert configured.status_code == 200
    # Available (50) is already below the threshold: the next drop, by the enrichment module, recharges.
    async with unit_of_work(sessions) as session:
        result = await CreditService(session).debit(uuid.UUID(billing.workspace_id), 10, "enrich-1")
    assert result.auto_recharge is not None and result.available == 540
    listed = await client.get(billing.url("/transactions"), headers=billing.headers("viewer"))
    assert [t["type"] for t in listed.json()["data"]] == ["auto_recharge", "debit", "purchase"]
    assert listed.json()["data"][0]["description"] == "Auto-recharge below 100 credits"
