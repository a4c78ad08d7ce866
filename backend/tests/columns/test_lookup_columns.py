"""Lookup columns through the API on real PostgreSQL: computed on save, on new rows, on edits of
the key, on a recompute request and when the other table changes (the worker's outbox follower);
first and list modes; validation (paths, another workspace's table looks like a missing one);
free: no ledger rows; roles and tenants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.columns import lookup
from morket.outbox.consumer import OutboxConsumer
from morket.outbox.repository import StoredEvent
from tests.factories import TestUser, add_member, create_workspace, register


class Tables:
    """A workspace with Companies (the table looked into) and Leads (the table with lookups)."""

    def __init__(self, client: httpx.AsyncClient, user: TestUser, ws: str) -> None:
        self.client = client
        self.user = user
        self.ws = ws
        self.ids: dict[str, str] = {}
        self.col: dict[str, dict[str, str]] = {}

    def url(self, table: str, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.ws}/tables/{self.ids[table]}{path}"

    async def create(self, name: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        response = await self.client.post(
            f"/api/v1/workspaces/{self.ws}/tables", json={"name": name, "columns": columns}, headers=self.user.headers
        )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        self.ids[name] = data["id"]
        self.col[name] = {c["name"]: c["id"] for c in data["columns"]}
        if rows:
            body = {"rows": [{self.col[name][k]: v for k, v in row.items()} for row in rows]}
            added = await self.client.post(self.url(name, "/rows"), json=body, headers=self.user.headers)
            assert added.status_code == 201, added.text

    async def add_lookup(self, name: str, column_type: str, **config: Any) -> httpx.Response:
        base: dict[str, Any] = {
            "table_id": self.ids["Companies"],
            "match": {"column_id": self.col["Leads"]["Domain"], "target_column_id": self.col["Companies"]["Domain"]},
            "return_column_id": self.col["Companies"]["Employees"],
        }
        base.update(config)
        response = await self.client.post(
            self.url("Leads", "/columns"),
            json={"name": name, "type": column_type, "kind": "lookup", "config": base},
            headers=self.user.headers,
        )
        if response.status_code == 201:
            self.col["Leads"][name] = response.json()["data"]["id"]
        return response

    async def rows(self, table: str = "Leads") -> list[dict[str, Any]]:
        response = await self.client.get(self.url(table, "/rows"), params={"limit": 1000}, headers=self.user.headers)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        return rows

    async def values(self, column: str) -> dict[str | None, Any]:
        """Lead domain -> the lookup's value."""
        domain, col = self.col["Leads"]["Domain"], self.col["Leads"][column]
        return {r["cells"][domain]: r["cells"][col] for r in await self.rows()}


COMPANIES = [
    {"Domain": "acme.com", "Employees": 100, "Name": "Acme"},
    {"Domain": "initech.io", "Employees": 50, "Name": "Initech"},
    {"Domain": "acme.com", "Employees": 200, "Name": "Acme Europe"},
    {"Domain": "acme.com", "Employees": None, "Name": "Acme Labs"},
    {"Domain": "hooli.xyz", "Employees": None, "Name": None},
]
LEADS = [{"Domain": "acme.com"}, {"Domain": "initech.io"}, {"Domain": "unknown.org"}, {"Domain": None}]


async def _setup(client: httpx.AsyncClient) -> Tables:
    user = await register(client)
    ws = (await create_workspace(client, user))["id"]
    tables = Tables(client, user, ws)
    await tables.create(
        "Companies",
        [
            {"name": "Domain", "type": "text"},
            {"name": "Employees", "type": "number"},
            {"name": "Name", "type": "text"},
        ],
        COMPANIES,
    )
    await tables.create("Leads", [{"name": "Domain", "type": "text"}, {"name": "Segment", "type": "text"}], LEADS)
    return tables


async def _ledger_rows(sessions: async_sessionmaker[AsyncSession], ws: str) -> int:
    async with sessions() as session:
        result = await session.execute(
            text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :w"), {"w": ws}
        )
        return int(result.scalar_one())


async def test_first_and_list_modes_computed_on_save_new_rows_and_key_edits(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tables = await _setup(client)
    ledger_before = await _ledger_rows(sessions, tables.ws)

    size = await tables.add_lookup("Size", "number", mode="first")
    assert size.status_code == 201, size.text
    assert "limit" not in size.json()["data"]["config"]
    # first: the first non-empty value among the matching rows, in row id order
    assert await tables.values("Size") == {"acme.com": 100, "initech.io": 50, "unknown.org": None, None: None}

    names = await tables.add_lookup(
        "Names", "json", mode="list", limit=2, return_column_id=tables.col["Companies"]["Name"]
    )
    assert names.status_code == 201, names.text
    assert await tables.values("Names") == {
        "acme.com": ["Acme", "Acme Europe"],  # limit 2 of 3 names, row id order
        "initech.io": ["Initech"],
        "unknown.org": None,
        None: None,
    }
    tags = await tables.add_lookup(
        "Tags", "multi_select", mode="list", limit=100, return_column_id=tables.col["Companies"]["Name"]
    )
    assert tags.status_code == 201, tags.text
    assert (await tables.values("Tags"))["acme.com"] == ["Acme", "Acme Europe", "Acme Labs"]
    as_text = await tables.add_lookup("Size text", "text")
    assert as_text.status_code == 201, as_text.text
    assert (await tables.values("Size text"))["initech.io"] == "50"

    # New rows are computed as they are appended.
    added = await client.post(
        tables.url("Leads", "/rows"),
        json={"rows": [{tables.col["Leads"]["Domain"]: "hooli.xyz"}, {tables.col["Leads"]["Domain"]: "initech.io"}]},
        headers=tables.user.headers,
    )
    assert added.status_code == 201, added.text
    rows = await tables.rows()
    by_id = {r["id"]: r for r in rows}
    new_ids = added.json()["data"]["ids"]
    size_col = tables.col["Leads"]["Size"]
    assert [by_id[i]["cells"][size_col] for i in new_ids] == [None, 50]  # hooli's employees are empty

    # Editing the key recomputes that row.
    unknown = next(r for r in rows if r["cells"][tables.col["Leads"]["Domain"]] == "unknown.org")
    edited = await client.put(
        tables.url("Leads", f"/rows/{unknown['id']}/cells/{tables.col['Leads']['Domain']}"),
        json={"value": "acme.com", "version": unknown["version"]},
        headers=tables.user.headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["cells"][size_col] == 100
    assert edited.json()["data"]["cells"][tables.col["Leads"]["Names"]] == ["Acme", "Acme Europe"]

    # Derived, like formulas: no cell history of its own; and free: no ledger rows at all.
    history = await client.get(
        tables.url("Leads", f"/rows/{unknown['id']}/history"),
        params={"column_id": size_col},
        headers=tables.user.headers,
    )
    assert history.status_code == 200 and history.json()["data"] == []
    assert await _ledger_rows(sessions, tables.ws) == ledger_before


async def test_only_if_limits_the_rows_and_its_columns_recompute(client: httpx.AsyncClient) -> None:
    tables = await _setup(client)
    segment = tables.col["Leads"]["Segment"]
    only_if = {"conditions": [{"column_id": segment, "operator": "eq", "value": "smb"}]}
    response = await tables.add_lookup("Size", "number", only_if=only_if)
    assert response.status_code == 201, response.text
    assert set((await tables.values("Size")).values()) == {None}
    acme = next(r for r in await tables.rows() if r["cells"][tables.col["Leads"]["Domain"]] == "acme.com")
    patched = await client.patch(
        tables.url("Leads", "/rows"),
        json={"rows": [{"id": acme["id"], "cells": {segment: "smb"}}]},
        headers=tables.user.headers,
    )
    assert patched.status_code == 200, patched.text
    assert (await tables.values("Size"))["acme.com"] == 100


async def test_other_table_changes_reach_the_lookup(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tables = await _setup(client)
    assert (await tables.add_lookup("Size", "number")).status_code == 201
    companies = await tables.rows("Companies")
    initech = next(r for r in companies if r["cells"][tables.col["Companies"]["Domain"]] == "initech.io")
    employees = tables.col["Companies"]["Employees"]
    edit = await client.put(
        tables.url("Companies", f"/rows/{initech['id']}/cells/{employees}"),
        json={"value": 75, "version": initech["version"]},
        headers=tables.user.headers,
    )
    assert edit.status_code == 200, edit.text
    assert (await tables.values("Size"))["initech.io"] == 50  # not yet: the follower has not run

    # The worker's outbox follower recomputes lookups that read the changed table.
    async def refresh(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        await lookup.refresh_dependents(session, events)

    consumer = OutboxConsumer(lookup.CONSUMER, None, sessions, session_handler=refresh)
    assert await consumer.drain() > 0
    assert (await tables.values("Size"))["initech.io"] == 75
    # A new company row for an unknown domain fills the lead that waited for it.
    added = await client.post(
        tables.url("Companies", "/rows"),
        json={"rows": [{tables.col["Companies"]["Domain"]: "unknown.org", employees: 7}]},
        headers=tables.user.headers,
    )
    assert added.status_code == 201, added.text
    await consumer.drain()
    assert (await tables.values("Size"))["unknown.org"] == 7
    # Deleting the matching companies empties the cell.
    acme_ids = [
        r["id"] for r in await tables.rows("Companies") if r["cells"][tables.col["Companies"]["Domain"]] == "acme.com"
    ]
    deleted = await client.post(
        tables.url("Companies", "/rows/delete"), json={"ids": acme_ids}, headers=tables.user.headers
    )
    assert deleted.status_code == 200, deleted.text
    await consumer.drain()
    assert (await tables.values("Size"))["acme.com"] is None
    # Replaying changes nothing (idempotent): a fresh follower from the start writes no cell.
    async with sessions() as session:
        await session.execute(text("DELETE FROM outbox_consumers WHERE name = :n"), {"n": lookup.CONSUMER})
        await session.commit()
    async with sessions() as session:
        from morket.outbox.repository import OutboxRepository, Position

        events = await OutboxRepository(session).read(Position(0, 0), 10_000)
        assert await lookup.refresh_dependents(session, events) == 0


async def test_recompute_command(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    tables = await _setup(client)
    assert (await tables.add_lookup("Size", "number")).status_code == 201
    size = tables.col["Leads"]["Size"]
    physical = f'tabledata."t_{uuid.UUID(tables.ids["Companies"]).hex}"'
    employees = f'"c_{uuid.UUID(tables.col["Companies"]["Employees"]).hex}"'
    async with sessions() as session:  # the other table changes behind the API's back (no event)
        await session.execute(text(f"UPDATE {physical} SET {employees} = 1"))
        await session.commit()
    response = await client.post(tables.url("Leads", f"/columns/{size}/recompute"), headers=tables.user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"column_id": size, "rows_changed": 2}
    assert await tables.values("Size") == {"acme.com": 1, "initech.io": 1, "unknown.org": None, None: None}
    again = await client.post(tables.url("Leads", f"/columns/{size}/recompute"), headers=tables.user.headers)
    assert again.json()["data"]["rows_changed"] == 0
    # Not a lookup column; no such column; a bad id.
    domain = tables.col["Leads"]["Domain"]
    not_lookup = await client.post(tables.url("Leads", f"/columns/{domain}/recompute"), headers=tables.user.headers)
    assert not_lookup.status_code == 422 and not_lookup.json()["error"]["code"] == "invalid_run"
    missing = await client.post(tables.url("Leads", f"/columns/{uuid.uuid4()}/recompute"), headers=tables.user.headers)
    assert missing.status_code == 404
    bad = await client.post(tables.url("Leads", "/columns/not-a-uuid/recompute"), headers=tables.user.headers)
    assert bad.status_code == 422


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_column_config", response.text
    return sorted(d["field"] for d in response.json()["error"]["details"])


async def test_config_is_validated_with_paths(client: httpx.AsyncClient) -> None:
    tables = await _setup(client)
    companies = tables.col["Companies"]
    leads = tables.col["Leads"]
    assert _fields(await tables.add_lookup("A", "number", table_id=str(uuid.uuid4()))) == ["config.table_id"]
    assert _fields(await tables.add_lookup("A", "number", table_id=tables.ids["Leads"])) == ["config.table_id"]
    assert _fields(
        await tables.add_lookup(
            "A", "number", match={"column_id": companies["Domain"], "target_column_id": leads["Domain"]}
        )
    ) == ["config.match.column_id", "config.match.target_column_id"]
    assert _fields(await tables.add_lookup("A", "number", return_column_id=leads["Segment"])) == [
        "config.return_column_id"
    ]
    # Types: a list fills json or multi_select; first needs the same type, text or json.
    assert _fields(await tables.add_lookup("A", "number", mode="list")) == ["config.mode"]
    assert _fields(await tables.add_lookup("A", "number", return_column_id=companies["Name"])) == [
        "config.return_column_id"
    ]
    assert _fields(await tables.add_lookup("A", "json", mode="list", limit=0)) == ["config.limit"]
    assert _fields(await tables.add_lookup("A", "json", mode="list", limit=101)) == ["config.limit"]
    assert _fields(await tables.add_lookup("A", "json", mode="sometimes")) == ["config.mode"]
    assert _fields(await tables.add_lookup("A", "json", extra=1)) == ["config.extra"]
    bad_only_if = {"conditions": [{"column_id": leads["Domain"], "operator": "gt", "value": 3}]}
    assert _fields(await tables.add_lookup("A", "number", only_if=bad_only_if)) == ["config.only_if.conditions.0"]
    # A lookup cannot match on a lookup (no chains) nor read itself.
    assert (await tables.add_lookup("Size", "number")).status_code == 201
    chained = await tables.add_lookup(
        "B", "number", match={"column_id": leads["Size"], "target_column_id": companies["Employees"]}
    )
    assert _fields(chained) == ["config.match.column_id"]
    # PATCH validates the same way.
    patched = await client.patch(
        tables.url("Leads", f"/columns/{leads['Size']}"),
        json={"config": {"table_id": str(uuid.uuid4())}},
        headers=tables.user.headers,
    )
    assert _fields(patched) == ["config.match", "config.return_column_id"]


async def test_another_workspace_table_is_refused_without_leaking(client: httpx.AsyncClient) -> None:
    mine = await _setup(client)
    theirs = await _setup(client)
    missing = await mine.add_lookup("A", "number", table_id=str(uuid.uuid4()))
    foreign = await mine.add_lookup(
        "A",
        "number",
        table_id=theirs.ids["Companies"],
        match={"column_id": mine.col["Leads"]["Domain"], "target_column_id": theirs.col["Companies"]["Domain"]},
        return_column_id=theirs.col["Companies"]["Employees"],
    )
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["error"] == missing.json()["error"]  # the same answer: nothing about theirs
    assert all(r["cells"] for r in await theirs.rows())


async def test_roles_and_tenants(client: httpx.AsyncClient) -> None:
    tables = await _setup(client)
    assert (await tables.add_lookup("Size", "number")).status_code == 201
    size = tables.col["Leads"]["Size"]
    viewer = await register(client)
    await add_member(client, tables.user, tables.ws, viewer, "viewer")
    as_viewer = Tables(client, viewer, tables.ws)
    as_viewer.ids, as_viewer.col = tables.ids, tables.col
    assert (await as_viewer.add_lookup("V", "number")).status_code == 403
    recompute = await client.post(tables.url("Leads", f"/columns/{size}/recompute"), headers=viewer.headers)
    assert recompute.status_code == 403
    assert len(await as_viewer.rows()) == len(LEADS)  # viewers read
    outsider = await register(client)
    recompute = await client.post(tables.url("Leads", f"/columns/{size}/recompute"), headers=outsider.headers)
    assert recompute.status_code == 404
    # A member of another workspace pointing its own URL at our table: 404.
    other_ws = (await create_workspace(client, outsider))["id"]
    walk = await client.post(
        f"/api/v1/workspaces/{other_ws}/tables/{tables.ids['Leads']}/columns/{size}/recompute",
        headers=outsider.headers,
    )
    assert walk.status_code == 404
