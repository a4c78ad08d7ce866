"""The tables API end to end over HTTP, asserting the stored data."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.tables.service import TableService
from tests.factories import add_member, register
from tests.tables.conftest import Workspace, make_table

COLUMNS = [
    {"name": "Company", "type": "text"},
    {"name": "Employees", "type": "number"},
    {"name": "Website", "type": "url"},
    {"name": "Founded", "type": "date"},
    {"name": "Public", "type": "checkbox"},
]


def _ids(table: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["id"] for c in table["columns"]}


async def test_table_lifecycle_with_counts_trash_and_restore(
    client: httpx.AsyncClient, workspace: Workspace, sessions: async_sessionmaker[AsyncSession]
) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    created = await client.post(
        workspace.url(f"/tables/{table['id']}/rows"),
        json={"rows": [{cols["Company"]: f"Acme {i}", cols["Employees"]: i} for i in range(25)]},
        headers=h,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["count"] == 25

    listed = (await client.get(workspace.url("/tables"), headers=h)).json()
    assert [(t["name"], t["row_count"]) for t in listed["data"]] == [("Leads", 25)]
    renamed = await client.patch(workspace.url(f"/tables/{table['id']}"), json={"name": "Accounts"}, headers=h)
    assert renamed.json()["data"]["name"] == "Accounts"

    deleted = await client.delete(workspace.url(f"/tables/{table['id']}"), headers=h)
    assert deleted.status_code == 200 and deleted.json()["data"]["purge_after"] is not None
    assert (await client.get(workspace.url(f"/tables/{table['id']}"), headers=h)).status_code == 404
    trash = (await client.get(workspace.url("/tables?deleted=true"), headers=h)).json()["data"]
    assert [t["id"] for t in trash] == [table["id"]]
    restored = await client.post(workspace.url(f"/tables/{table['id']}/restore"), headers=h)
    assert restored.status_code == 200
    rows = (await client.get(workspace.url(f"/tables/{table['id']}/rows"), headers=h)).json()
    assert rows["meta"]["total"] == 25 and len(rows["data"]) == 25

    # Purge: only tables deleted more than 30 days ago go, rows and physical table with them.
    await client.delete(workspace.url(f"/tables/{table['id']}"), headers=h)
    async with unit_of_work(sessions) as session:
        assert await TableService(session).purge_deleted(datetime.now(UTC) + timedelta(days=29)) == 0
    async with unit_of_work(sessions) as session:
        assert await TableService(session).purge_deleted(datetime.now(UTC) + timedelta(days=31)) == 1
    async with unit_of_work(sessions) as session:
        physical = (
            await session.execute(
                text("SELECT to_regclass(:name)"), {"name": f"tabledata.t_{table['id'].replace('-', '')}"}
            )
        ).scalar_one()
    assert physical is None


async def test_roles_viewer_reads_member_edits_admin_deletes(client: httpx.AsyncClient, workspace: Workspace) -> None:
    viewer, member = await register(client), await register(client)
    await add_member(client, workspace.owner, str(workspace.id), viewer, "viewer")
    await add_member(client, workspace.owner, str(workspace.id), member, "member")
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    rows_url = workspace.url(f"/tables/{table['id']}/rows")
    assert (await client.get(rows_url, headers=viewer.headers)).status_code == 200
    denied = await client.post(rows_url, json={"rows": [{cols["Company"]: "x"}]}, headers=viewer.headers)
    assert denied.status_code == 403
    assert (
        await client.post(rows_url, json={"rows": [{cols["Company"]: "x"}]}, headers=member.headers)
    ).status_code == 201
    assert (await client.delete(workspace.url(f"/tables/{table['id']}"), headers=member.headers)).status_code == 403
    rows = (await client.get(rows_url, headers=viewer.headers)).json()["data"]
    assert [r["cells"][cols["Company"]] for r in rows] == ["x"]


async def test_bulk_create_is_all_or_nothing_with_row_errors(client: httpx.AsyncClient, workspace: Workspace) -> None:
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    rows = [{cols["Employees"]: i} for i in range(10_000)]
    rows[17] = {cols["Employees"]: "lots"}
    rows[9_001] = {cols["Founded"]: "yesterday", cols["Website"]: "not a url"}
    response = await client.post(
        workspace.url(f"/tables/{table['id']}/rows"), json={"rows": rows}, headers=workspace.owner.headers
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert sorted((d["row"], d["column_id"]) for d in details) == [
        (17, cols["Employees"]),
        (9_001, cols["Website"]),
        (9_001, cols["Founded"]),
    ] or sorted((d["row"], d["column_id"]) for d in details) == sorted(
        [(17, cols["Employees"]), (9_001, cols["Website"]), (9_001, cols["Founded"])]
    )
    listed = (await client.get(workspace.url(f"/tables/{table['id']}/rows"), headers=workspace.owner.headers)).json()
    assert listed["data"] == [] and listed["meta"]["total"] == 0


async def test_bulk_update_and_delete_of_10000_rows(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    url = workspace.url(f"/tables/{table['id']}/rows")
    ids = (await client.post(url, json={"rows": [{cols["Employees"]: i} for i in range(10_000)]}, headers=h)).json()[
        "data"
    ]["ids"]
    patch = {
        "rows": [
            {"id": row_id, "cells": {cols["Employees"]: i * 2, cols["Public"]: True}} for i, row_id in enumerate(ids)
        ]
    }
    updated = await client.patch(url, json=patch, headers=h)
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["count"] == 10_000
    assert updated.json()["data"]["versions"] == [2] * 10_000
    # The answer carries each row's version after the write: a patch that changes nothing keeps it.
    again = await client.patch(
        url,
        json={
            "rows": [
                {"id": ids[0], "cells": {cols["Public"]: True}, "version": 2},
                {"id": ids[1], "cells": {cols["Public"]: False}, "version": 2},
            ]
        },
        headers=h,
    )
    assert again.status_code == 200, again.text
    assert again.json()["data"]["ids"] == [ids[0], ids[1]] and again.json()["data"]["versions"] == [2, 3]
    restore = {"rows": [{"id": ids[1], "cells": {cols["Public"]: True}, "version": 3}]}
    assert (await client.patch(url, json=restore, headers=h)).json()["data"]["versions"] == [4]
    page = (await client.get(url, params={"sort": f"{cols['Employees']}:desc", "limit": 3}, headers=h)).json()
    assert [r["cells"][cols["Employees"]] for r in page["data"]] == [19_998, 19_996, 19_994]
    assert all(r["cells"][cols["Public"]] is True and r["version"] == 2 for r in page["data"] if r["id"] != ids[1])
    history = (await client.get(workspace.url(f"/tables/{table['id']}/rows/{ids[5]}/history"), headers=h)).json()
    assert {(e["old_value"], e["new_value"], e["source"]) for e in history["data"]} == {
        (5, 10, "bulk"),
        (None, True, "bulk"),
    }

    # One unknown id: nothing is deleted.
    bad = await client.post(f"{url}/delete", json={"ids": [*ids[:10], 10**12]}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"] == [{"row_id": 10**12, "message": "no such row"}]
    deleted = await client.post(f"{url}/delete", json={"ids": ids[:5_000]}, headers=h)
    assert deleted.json()["data"]["count"] == 5_000
    assert (await client.get(url, params={"limit": 1}, headers=h)).json()["meta"]["total"] == 5_000


async def test_cell_edit_conflict_and_history(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    url = workspace.url(f"/tables/{table['id']}")
    row_id = (await client.post(f"{url}/rows", json={"rows": [{cols["Company"]: "Acme"}]}, headers=h)).json()["data"][
        "ids"
    ][0]
    cell = f"{url}/rows/{row_id}/cells/{cols['Company']}"

    # Two editors read version 1 and write at the same time: exactly one wins.
    first, second = await asyncio.gather(
        client.put(cell, json={"value": "Acme Inc", "version": 1}, headers=h),
        client.put(cell, json={"value": "ACME Corp", "version": 1}, headers=h),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    won_value = winner.json()["data"]["cells"][cols["Company"]]
    conflict = loser.json()["error"]
    assert conflict["code"] == "stale_version"
    assert conflict["details"]["current_value"] == won_value and conflict["details"]["current_version"] == 2

    # The loser retries with the current version: nothing is lost, both edits are in the history.
    lost_value = "ACME Corp" if won_value == "Acme Inc" else "Acme Inc"
    retry = await client.put(cell, json={"value": lost_value, "version": 2}, headers=h)
    assert retry.status_code == 200 and retry.json()["data"]["version"] == 3
    history = (
        await client.get(f"{url}/rows/{row_id}/history", params={"column_id": cols["Company"]}, headers=h)
    ).json()["data"]
    assert [(e["old_value"], e["new_value"]) for e in history] == [(won_value, lost_value), ("Acme", won_value)]
    assert all(e["actor_id"] == workspace.owner.id and e["source"] == "user" for e in history)

    bad = await client.put(
        cell.replace(cols["Company"], cols["Employees"]), json={"value": "x", "version": 3}, headers=h
    )
    assert bad.status_code == 422
    missing = await client.put(
        f"{url}/rows/999999/cells/{cols['Company']}", json={"value": "x", "version": 1}, headers=h
    )
    assert missing.status_code == 404


async def test_columns_add_rename_hide_reorder_delete(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS[:2])
    url = workspace.url(f"/tables/{table['id']}")
    added = await client.post(f"{url}/columns", json={"name": "Email", "type": "email"}, headers=h)
    assert added.status_code == 201
    email = added.json()["data"]["id"]
    dup = await client.post(f"{url}/columns", json={"name": "email", "type": "text"}, headers=h)
    assert dup.status_code == 409
    await client.patch(f"{url}/columns/{email}", json={"name": "Work email", "hidden": True}, headers=h)
    ids = [c["id"] for c in table["columns"]]
    reordered = await client.put(f"{url}/columns/order", json={"column_ids": [email, *ids]}, headers=h)
    assert reordered.status_code == 200
    described = (await client.get(url, headers=h)).json()["data"]
    assert [(c["name"], c["hidden"]) for c in described["columns"]] == [
        ("Work email", True),
        ("Company", False),
        ("Employees", False),
    ]
    await client.post(f"{url}/rows", json={"rows": [{email: "a@b.co", ids[0]: "Acme"}]}, headers=h)
    assert (await client.delete(f"{url}/columns/{email}", headers=h)).status_code == 200
    rows = (await client.get(f"{url}/rows", headers=h)).json()["data"]
    assert rows[0]["cells"] == {ids[0]: "Acme", ids[1]: None}


async def test_type_change_keeps_cells_that_do_not_convert(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, [{"name": "Size", "type": "text"}])
    size = table["columns"][0]["id"]
    url = workspace.url(f"/tables/{table['id']}")
    values = ["12", "3.5", "about ten", "", "-4", "n/a"]
    ids = (await client.post(f"{url}/rows", json={"rows": [{size: v} for v in values]}, headers=h)).json()["data"][
        "ids"
    ]
    changed = await client.patch(f"{url}/columns/{size}", json={"type": "number"}, headers=h)
    assert changed.status_code == 200, changed.text
    report = changed.json()["meta"]["type_change"]
    # "" does not convert either: it is kept, like the others.
    assert report["not_converted"] == 3
    assert sorted(s["original"] for s in report["samples"]) == ["", "about ten", "n/a"]
    rows = (await client.get(f"{url}/rows", headers=h)).json()["data"]
    assert [(r["cells"][size], r["invalid"].get(size)) for r in rows] == [
        (12, None),
        (3.5, None),
        (None, "about ten"),
        (None, ""),
        (-4, None),
        (None, "n/a"),
    ]
    # Numbers now sort as numbers, and writing the cell clears its invalid marker.
    ordered = (await client.get(f"{url}/rows", params={"sort": size}, headers=h)).json()["data"]
    assert [r["cells"][size] for r in ordered][:3] == [-4, 3.5, 12]
    fixed = await client.put(f"{url}/rows/{ids[2]}/cells/{size}", json={"value": 10, "version": 1}, headers=h)
    assert fixed.json()["data"]["invalid"] == {} and fixed.json()["data"]["cells"][size] == 10
    # And back to text: every value comes back as text.
    back = await client.patch(f"{url}/columns/{size}", json={"type": "text"}, headers=h)
    assert back.json()["meta"]["type_change"]["not_converted"] == 0
    rows = (await client.get(f"{url}/rows", headers=h)).json()["data"]
    assert [r["cells"][size] for r in rows] == ["12", "3.5", "10", None, "-4", None]


async def test_filters_over_http_and_bad_filters(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    url = workspace.url(f"/tables/{table['id']}/rows")
    data = [
        {
            cols["Company"]: "Stripe",
            cols["Employees"]: 8000,
            cols["Website"]: "stripe.com",
            cols["Founded"]: "2010-01-01",
        },
        {cols["Company"]: "Strapi", cols["Employees"]: 200, cols["Founded"]: "2015-06-01"},
        {cols["Company"]: "Acme", cols["Employees"]: 50},
        {cols["Company"]: "50% off_sale", cols["Public"]: True},
    ]
    await client.post(url, json={"rows": data}, headers=h)
    tree = {
        "conjunction": "or",
        "conditions": [
            {"column_id": cols["Company"], "operator": "starts_with", "value": "str"},
            {
                "conjunction": "and",
                "conditions": [
                    {"column_id": cols["Employees"], "operator": "between", "value": [10, 100]},
                    {"column_id": cols["Founded"], "operator": "is_empty"},
                ],
            },
        ],
    }
    got = (await client.get(url, params={"filter": json.dumps(tree), "sort": cols["Company"]}, headers=h)).json()
    assert [r["cells"][cols["Company"]] for r in got["data"]] == ["Acme", "Strapi", "Stripe"]
    assert got["meta"]["total"] == 3 and got["meta"]["total_estimated"] is False
    # LIKE wildcards in the value are literal.
    like = {"conditions": [{"column_id": cols["Company"], "operator": "contains", "value": "% off_"}]}
    got = (await client.get(url, params={"filter": json.dumps(like)}, headers=h)).json()["data"]
    assert [r["cells"][cols["Company"]] for r in got] == ["50% off_sale"]
    searched = (await client.get(url, params={"q": "STRIPE.C"}, headers=h)).json()["data"]
    assert [r["cells"][cols["Company"]] for r in searched] == ["Stripe"]

    for bad in (
        {"conditions": [{"column_id": cols["Public"], "operator": "contains", "value": "x"}]},
        {"conditions": [{"column_id": cols["Employees"], "operator": "gt", "value": "many"}]},
        {"conditions": [{"column_id": cols["Employees"], "operator": "between", "value": [1]}]},
        {"conditions": [{"column_id": table["id"], "operator": "eq", "value": 1}]},
        {"conditions": [{"column_id": cols["Employees"], "operator": "nope", "value": 1}]},
    ):
        response = await client.get(url, params={"filter": json.dumps(bad)}, headers=h)
        assert response.status_code == 422, bad
        assert response.json()["success"] is False
    assert (await client.get(url, params={"filter": "{not json"}, headers=h)).status_code == 422
    assert (await client.get(url, params={"sort": "x:sideways"}, headers=h)).status_code == 422


async def test_cursor_pages_over_http(client: httpx.AsyncClient, workspace: Workspace) -> None:
    h = workspace.owner.headers
    table = await make_table(client, workspace, COLUMNS)
    cols = _ids(table)
    url = workspace.url(f"/tables/{table['id']}/rows")
    # Many ties and empty cells in the sort column.
    data = [{cols["Employees"]: None if i % 5 == 0 else i % 7} for i in range(250)]
    await client.post(url, json={"rows": data}, headers=h)
    sort = f"{cols['Employees']}:desc"
    everything = (await client.get(url, params={"sort": sort, "limit": 1000}, headers=h)).json()
    assert everything["meta"]["next_cursor"] is None
    walked: list[int] = []
    cursor = None
    while True:
        params = {"sort": sort, "limit": 100, "count": "false", **({"cursor": cursor} if cursor else {})}
        page = await client.get(url, params=params, headers=h)
        assert page.status_code == 200, page.text
        walked.extend(r["id"] for r in page.json()["data"])
        cursor = page.json()["meta"]["next_cursor"]
        if cursor is None:
            break
    assert walked == [r["id"] for r in everything["data"]] and len(walked) == 250

    first = (await client.get(url, params={"sort": sort, "limit": 10}, headers=h)).json()["meta"]["next_cursor"]
    for params in (
        {"sort": sort, "cursor": "not-a-cursor"},
        {"sort": sort, "cursor": first, "offset": 10},
        {"sort": cols["Employees"], "cursor": first},  # made for another sort
        {"cursor": "eyJzIjoiMTIiLCJ2IjpbXSwiaSI6InRlbiJ9"},  # well-formed JSON, wrong types
    ):
        response = await client.get(url, params=params, headers=h)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] in ("invalid_cursor", "invalid_view")
