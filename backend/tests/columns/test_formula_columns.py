"""Formula columns through the API: computed on save, on new rows and on edits of their inputs;
per-cell errors in the cell's state; a syntax error is a 422 pointing at the position."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import create_workspace, register


async def _table(client: httpx.AsyncClient) -> tuple[Any, str, dict[str, str]]:
    user = await register(client)
    ws = (await create_workspace(client, user))["id"]
    columns = [
        {"name": "First", "type": "text"},
        {"name": "Website", "type": "url"},
        {"name": "Seats", "type": "number"},
        {"name": "Price", "type": "number"},
    ]
    response = await client.post(
        f"/api/v1/workspaces/{ws}/tables", json={"name": "Accounts", "columns": columns}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    table = response.json()["data"]
    return user, f"/api/v1/workspaces/{ws}/tables/{table['id']}", {c["name"]: c["id"] for c in table["columns"]}


async def _rows(client: httpx.AsyncClient, user: Any, url: str) -> list[dict[str, Any]]:
    response = await client.get(f"{url}/rows", params={"limit": 1000}, headers=user.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_formula_computes_on_save_on_new_rows_and_on_edits(client: httpx.AsyncClient) -> None:
    user, url, col = await _table(client)
    seed = [
        {col["First"]: "ada", col["Website"]: "https://www.acme.com/about", col["Seats"]: 10, col["Price"]: 5},
        {col["First"]: "grace", col["Website"]: "initech.io", col["Seats"]: 3, col["Price"]: 0},
        {col["First"]: None, col["Website"]: None, col["Seats"]: None, col["Price"]: None},
    ]
    assert (await client.post(f"{url}/rows", json={"rows": seed}, headers=user.headers)).status_code == 201

    formulas = {
        "Label": ("text", 'IF({First} = "", "?", UPPER({First}) & "@" & DOMAIN({Website}))'),
        "Per seat": ("number", "{Price} / {Seats}"),
    }
    for name, (kind, expression) in formulas.items():
        response = await client.post(
            f"{url}/columns",
            json={"name": name, "type": kind, "kind": "formula", "config": {"expression": expression}},
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
        col[name] = response.json()["data"]["id"]
        assert response.json()["data"]["config"]["refs"]

    rows = await _rows(client, user, url)
    assert [r["cells"][col["Label"]] for r in rows] == ["ADA@acme.com", "GRACE@initech.io", "?"]
    assert [r["cells"][col["Per seat"]] for r in rows] == [0.5, 0, None]
    # Division by zero is the cell's error, not the request's.
    assert col["Per seat"] not in rows[1]["meta"]
    assert rows[2]["meta"][col["Per seat"]] == {"state": "error", "reason": "division by zero"}

    # Editing an input recomputes that row (and clears the error when it goes away).
    row = rows[2]
    put = await client.put(
        f"{url}/rows/{row['id']}/cells/{col['Seats']}",
        json={"value": 4, "version": row["version"]},
        headers=user.headers,
    )
    assert put.status_code == 200, put.text
    patch = await client.patch(
        f"{url}/rows",
        json={"rows": [{"id": row["id"], "cells": {col["Price"]: 2, col["First"]: "radia"}}]},
        headers=user.headers,
    )
    assert patch.status_code == 200, patch.text
    after = {r["id"]: r for r in await _rows(client, user, url)}[row["id"]]
    assert after["cells"][col["Per seat"]] == 0.5 and col["Per seat"] not in after["meta"]
    assert after["cells"][col["Label"]] == "RADIA@"

    # New rows get their formulas.
    new = await client.post(
        f"{url}/rows", json={"rows": [{col["First"]: "ken", col["Website"]: "bell-labs.com"}]}, headers=user.headers
    )
    assert new.status_code == 201, new.text
    last = (await _rows(client, user, url))[-1]
    assert last["cells"][col["Label"]] == "KEN@bell-labs.com"

    # Changing the formula recomputes every row.
    changed = await client.patch(
        f"{url}/columns/{col['Label']}", json={"config": {"expression": "LEN({First})"}}, headers=user.headers
    )
    assert changed.status_code == 200, changed.text
    assert [r["cells"][col["Label"]] for r in await _rows(client, user, url)] == ["3", "5", "5", "3"]


async def test_formula_errors_are_422_with_positions(client: httpx.AsyncClient) -> None:
    user, url, _ = await _table(client)

    async def add(expression: str, name: str = "F") -> httpx.Response:
        return await client.post(
            f"{url}/columns",
            json={"name": name, "type": "text", "kind": "formula", "config": {"expression": expression}},
            headers=user.headers,
        )

    response = await add("UPPER({First}) &")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_formula"
    assert error["details"][0]["field"] == "config.expression" and error["details"][0]["column"] == 17
    response = await add("{Nobody} & 1")
    assert response.status_code == 422 and "no column named" in response.json()["error"]["details"][0]["message"]
    assert (await add("1")).status_code == 201
    response = await add("{F} & 1", name="G")
    assert response.status_code == 422 and "is a formula" in response.json()["error"]["details"][0]["message"]
    response = await client.post(
        f"{url}/columns",
        json={"name": "H", "type": "text", "kind": "formula", "config": {"expression": "1", "code": "x"}},
        headers=user.headers,
    )
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "config.code"


async def test_a_deleted_input_turns_into_cell_errors(client: httpx.AsyncClient) -> None:
    user, url, col = await _table(client)
    rows = [{col["Seats"]: 2, col["Price"]: 10}]
    assert (await client.post(f"{url}/rows", json={"rows": rows}, headers=user.headers)).status_code == 201
    response = await client.post(
        f"{url}/columns",
        json={"name": "Total", "type": "number", "kind": "formula", "config": {"expression": "{Seats} * {Price}"}},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    total = response.json()["data"]["id"]
    assert (await _rows(client, user, url))[0]["cells"][total] == 20
    assert (await client.delete(f"{url}/columns/{col['Price']}", headers=user.headers)).status_code in (200, 204)
    # The next write recomputes: the cell says what is wrong, the write itself succeeds.
    row = (await _rows(client, user, url))[0]
    put = await client.put(
        f"{url}/rows/{row['id']}/cells/{col['Seats']}",
        json={"value": 3, "version": row["version"]},
        headers=user.headers,
    )
    assert put.status_code == 200, put.text
    after = (await _rows(client, user, url))[0]
    assert after["cells"][total] is None
    assert after["meta"][total] == {"state": "error", "reason": "the column {Price} no longer exists"}


async def test_a_renamed_input_is_renamed_in_the_formula(client: httpx.AsyncClient) -> None:
    user, url, col = await _table(client)
    rows = [{col["Website"]: "https://acme.com", col["Seats"]: 4, col["Price"]: 10}]
    assert (await client.post(f"{url}/rows", json={"rows": rows}, headers=user.headers)).status_code == 201
    expression = 'IF({ website } = "{Website}", "?", DOMAIN({Website})) & ":" & {Price} / {Seats}'
    response = await client.post(
        f"{url}/columns",
        json={"name": "Label", "type": "text", "kind": "formula", "config": {"expression": expression}},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    label = response.json()["data"]["id"]

    async def formula_config() -> dict[str, Any]:
        table = await client.get(url, headers=user.headers)
        (column,) = [c for c in table.json()["data"]["columns"] if c["id"] == label]
        config: dict[str, Any] = column["config"]
        return config

    renamed = await client.patch(f"{url}/columns/{col['Website']}", json={"name": "Home page"}, headers=user.headers)
    assert renamed.status_code == 200, renamed.text
    config = await formula_config()
    # References are rewritten, the string literal that looks like one is not.
    assert config["expression"] == 'IF({Home page} = "{Website}", "?", DOMAIN({Home page})) & ":" & {Price} / {Seats}'
    assert config["refs"] == {"Home page": col["Website"], "Price": col["Price"], "Seats": col["Seats"]}
    # The formula still computes from the same cells, and saving it back as read is accepted.
    assert (await _rows(client, user, url))[0]["cells"][label] == "acme.com:2.5"
    saved = await client.patch(
        f"{url}/columns/{label}", json={"config": {"expression": config["expression"]}}, headers=user.headers
    )
    assert saved.status_code == 200, saved.text
    row = (await _rows(client, user, url))[0]
    put = await client.put(
        f"{url}/rows/{row['id']}/cells/{col['Website']}",
        json={"value": "https://www.initech.io/x", "version": row["version"]},
        headers=user.headers,
    )
    assert put.status_code == 200, put.text
    assert (await _rows(client, user, url))[0]["cells"][label] == "initech.io:2.5"

    # A name the formula cannot hold: the rename is refused as a whole, nothing changes.
    for name in ("Price {usd}", "P" * 200):
        if name.startswith("P" * 10):
            long = " & ".join(["{Price}"] * 120)
            response = await client.patch(
                f"{url}/columns/{label}", json={"config": {"expression": long}}, headers=user.headers
            )
            assert response.status_code == 200, response.text
        refused = await client.patch(f"{url}/columns/{col['Price']}", json={"name": name}, headers=user.headers)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "column_name_in_formula" and "'Label'" in error["message"]
        table = (await client.get(url, headers=user.headers)).json()["data"]
        assert {c["name"] for c in table["columns"]} == {"First", "Home page", "Seats", "Price", "Label"}
        assert "{Price}" in (await formula_config())["expression"]
