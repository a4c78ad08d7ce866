"""`POST .../tables/{id}/columns/preview`: a formula's values and an AI column's rendered prompts on
the first rows, before the column is saved; the same 422s as column creation; members only; a
workspace's tables are 404 to everyone else; bad input is a clear 4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.test_bad_input import NASTY
from tests.factories import TestUser, add_member, create_workspace, register

COLUMNS = [
    {"name": "First", "type": "text"},
    {"name": "Domain", "type": "text"},
    {"name": "Seats", "type": "number"},
    {"name": "Signed", "type": "date"},
]
ROWS = [
    {"First": "ada", "Domain": "https://www.acme.com/about", "Seats": 10, "Signed": "2024-03-05"},
    {"First": "grace", "Domain": "navy.mil", "Seats": 0, "Signed": None},
    {"First": None, "Domain": None, "Seats": None, "Signed": None},
    {"First": "alan", "Domain": "bletchley.uk", "Seats": 3, "Signed": "2023-12-31"},
]


async def _table(client: httpx.AsyncClient) -> tuple[TestUser, str, str, dict[str, str]]:
    user = await register(client)
    ws = (await create_workspace(client, user))["id"]
    response = await client.post(
        f"/api/v1/workspaces/{ws}/tables", json={"name": "Accounts", "columns": COLUMNS}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    table = response.json()["data"]
    col = {c["name"]: c["id"] for c in table["columns"]}
    url = f"/api/v1/workspaces/{ws}/tables/{table['id']}"
    rows = [{col[k]: v for k, v in row.items() if v is not None} for row in ROWS]
    added = await client.post(f"{url}/rows", json={"rows": rows}, headers=user.headers)
    assert added.status_code == 201, added.text
    return user, ws, url, col


async def _preview(client: httpx.AsyncClient, user: TestUser, url: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{url}/columns/preview", json=body, headers=user.headers)


async def test_formula_preview_gives_values_and_cell_errors(client: httpx.AsyncClient) -> None:
    user, _, url, _ = await _table(client)
    expression = 'IF({Seats} > 0, UPPER({First}) & "@" & DOMAIN({Domain}), 100 / {Seats})'
    response = await _preview(client, user, url, {"kind": "formula", "config": {"expression": expression}})
    assert response.status_code == 200, response.text
    rows = response.json()["data"]["rows"]
    assert [r["value"] for r in rows] == ["ADA@acme.com", None, None, "ALAN@bletchley.uk"]
    assert rows[1]["error"] and "zero" in rows[1]["error"].lower()
    assert rows[0]["error"] is None and [r["row_id"] for r in rows] == sorted(r["row_id"] for r in rows)
    # limit: the first rows in id order; dates come back as ISO text.
    dated = await _preview(
        client, user, url, {"kind": "formula", "config": {"expression": "YEAR({Signed})"}, "limit": 1}
    )
    assert dated.status_code == 200, dated.text
    assert dated.json()["data"]["rows"] == [{"row_id": rows[0]["row_id"], "value": 2024, "error": None}]
    # Nothing was written: the table still has its four columns and no computed cells.
    table = await client.get(url, headers=user.headers)
    assert [c["name"] for c in table.json()["data"]["columns"]] == [c["name"] for c in COLUMNS]


async def test_formula_syntax_error_is_422_with_the_position(client: httpx.AsyncClient) -> None:
    user, _, url, _ = await _table(client)
    response = await _preview(client, user, url, {"kind": "formula", "config": {"expression": "1 + * 2"}})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_formula"
    (detail,) = error["details"]
    assert detail["field"] == "config.expression" and detail["line"] == 1 and detail["column"] == 5
    unknown = await _preview(client, user, url, {"kind": "formula", "config": {"expression": "{Nope} & 1"}})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["column"] == 1


async def test_ai_preview_renders_prompts_without_calling_the_model(client: httpx.AsyncClient) -> None:
    user, _, url, _ = await _table(client)
    body = {"kind": "ai", "config": {"prompt": "Opener for {{First}} at {{domain}} ({{Seats}} seats)"}, "limit": 20}
    response = await _preview(client, user, url, body)
    assert response.status_code == 200, response.text
    rows = response.json()["data"]["rows"]
    assert [r["value"] for r in rows] == [
        "Opener for ada at https://www.acme.com/about (10 seats)",
        "Opener for grace at navy.mil (0 seats)",
        "Opener for  at  ( seats)",
        "Opener for alan at bletchley.uk (3 seats)",
    ]
    assert [r["error"] is None for r in rows] == [True, True, False, True]
    assert "skips" in rows[2]["error"]
    bad = await _preview(client, user, url, {"kind": "ai", "config": {"prompt": "Hi {{Firts}}"}})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["offset"] == 3


async def test_roles_and_tenants(client: httpx.AsyncClient) -> None:
    owner, ws, url, _ = await _table(client)
    body = {"kind": "formula", "config": {"expression": "UPPER({First})"}}
    member, viewer = await register(client), await register(client)
    await add_member(client, owner, ws, member, "member")
    await add_member(client, owner, ws, viewer, "viewer")
    assert (await _preview(client, member, url, body)).status_code == 200
    # Previewing is part of authoring a column, which viewers cannot do (docs/columns.md).
    denied = await _preview(client, viewer, url, body)
    assert denied.status_code == 403, denied.text
    # Another workspace's member, and its own tables' ids in this workspace's path: 404.
    stranger, _, other_url, _ = await _table(client)
    assert (await _preview(client, stranger, url, body)).status_code == 404
    other_table = other_url.rsplit("/", 1)[1]
    mixed = f"/api/v1/workspaces/{ws}/tables/{other_table}"
    assert (await _preview(client, owner, mixed, body)).status_code == 404
    assert (await client.post(f"{url}/columns/preview", json=body)).status_code == 401
    # An AI column: members create and run it; a viewer can do neither; a stranger sees nothing.
    column = {"name": "Opener", "type": "text", "kind": "ai", "config": {"prompt": "Hi {{First}}"}}
    assert (await client.post(f"{url}/columns", json=column, headers=viewer.headers)).status_code == 403
    created = await client.post(f"{url}/columns", json=column, headers=member.headers)
    assert created.status_code == 201, created.text
    run = {"column_ids": [created.json()["data"]["id"]]}
    assert (await client.post(f"{url}/runs", json=run, headers=viewer.headers)).status_code == 403
    assert (await client.post(f"{url}/runs", json=run, headers=stranger.headers)).status_code == 404
    assert (await client.post(f"{url}/runs/preview", json=run, headers=stranger.headers)).status_code == 404
    viewer_preview = await client.post(f"{url}/runs/preview", json=run, headers=viewer.headers)
    assert viewer_preview.status_code == 200, viewer_preview.text  # the cost preview is a read
    assert viewer_preview.json()["data"]["columns"][0]["rows"] == 3  # the row with no First is not sent


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": "data", "config": {}},
        {"kind": "enrichment", "config": {"field": "email"}},
        {"kind": "formula"},
        {"kind": "formula", "config": "UPPER({First})"},
        {"kind": "formula", "config": {"expression": "1"}, "limit": 0},
        {"kind": "formula", "config": {"expression": "1"}, "limit": 21},
        {"kind": "formula", "config": {"expression": "1"}, "limit": "many"},
        {"kind": "formula", "config": {"expression": "1"}, "extra": True},
        {"kind": "formula", "config": {"expression": ""}},
        {"kind": "formula", "config": {"expression": "1\u0000"}},
        {"kind": "formula", "config": {"expression": "x" * 5000}},
        {"kind": "formula", "config": {"expression": "1", "colour": "red"}},
        {"kind": "ai", "config": {}},
        {"kind": "ai", "config": {"prompt": "{{First}}", "output": {"type": "choice"}}},
        {"kind": "ai", "config": {"prompt": "x" * 10_001}},
        {"kind": "ai", "config": {"prompt": "{{First}}", "model": "\u0000"}},
        {"kind": "ai", "config": {"prompt": "{{First}}", "only_if": {"conditions": [{"column_id": "nope"}]}}},
    ],
)
async def test_bad_input_is_a_clear_4xx(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    user, _, url, _ = await _table(client)
    response = await _preview(client, user, url, body)
    assert response.status_code == 422, response.text
    envelope = response.json()
    assert envelope["success"] is False and envelope["error"]["code"] and envelope["error"]["message"]


async def test_bad_path_and_body_shapes(client: httpx.AsyncClient) -> None:
    user, ws, url, _ = await _table(client)
    body = {"kind": "formula", "config": {"expression": "1"}}
    assert (await _preview(client, user, f"/api/v1/workspaces/{ws}/tables/not-a-uuid", body)).status_code == 422
    ghost = f"/api/v1/workspaces/{ws}/tables/00000000-0000-4000-8000-000000000000"
    assert (await _preview(client, user, ghost, body)).status_code == 404
    raw = await client.post(
        f"{url}/columns/preview", content=b"{not json", headers={**user.headers, "content-type": "application/json"}
    )
    assert raw.status_code == 422, raw.text
    listed = await client.post(f"{url}/columns/preview", json=[body], headers=user.headers)
    assert listed.status_code == 422, listed.text


async def test_nasty_values_in_every_part_are_never_a_500(client: httpx.AsyncClient) -> None:
    """The bad-input sweep of tests/api on a real table (there, table ids are random: 404 first)."""
    user, _, url, col = await _table(client)
    bases: list[dict[str, Any]] = [
        {"kind": "formula", "config": {"expression": "UPPER({First})"}, "limit": 3},
        {
            "kind": "ai",
            "config": {
                "prompt": "Hi {{First}}",
                "model": "gpt-4o-mini",
                "output": {"type": "choice", "choices": ["a", "b"]},
                "only_if": {"conditions": [{"column_id": col["First"], "operator": "eq", "value": "ada"}]},
            },
        },
    ]
    bodies: list[Any] = []
    for base in bases:
        for key in base:
            bodies.extend({**base, key: value} for value in NASTY)
        for key in base["config"]:
            bodies.extend({**base, "config": {**base["config"], key: value}} for value in NASTY)
    for body in bodies:
        response = await client.post(
            f"{url}/columns/preview",
            content=json.dumps(body, allow_nan=True, ensure_ascii=True),
            headers={**user.headers, "content-type": "application/json"},
        )
        assert response.status_code in (200, 422), (str(body)[:120], response.status_code, response.text[:300])
        if response.status_code == 422:
            assert response.json()["success"] is False
