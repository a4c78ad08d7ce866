"""AI columns on the real stack: config validation (422s with paths and positions), runs through
the enrichment engine (Temporal dev server, worker, PostgreSQL) against the sandbox's OpenAI
emulator over HTTP, typed cells, invalid answers as uncharged cell errors, the ledger against
the cells, only-if, write policies, auto-run, renames."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from morket_sandbox.providers.openai import INVALID_MARKER
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.columns.helpers import Leads, leads_table, wait_for_run
from tests.columns.test_autorun import auto_runs  # noqa: F401 - the fixture
from tests.enrichment.helpers import balance, funded_workspace, ledger, people
from tests.factories import create_workspace, register

CHOICES = ["SMB", "Mid-market", "Enterprise"]


def ai(name: str, prompt: str, column_type: str = "text", **config: Any) -> dict[str, Any]:
    return {"name": name, "type": column_type, "kind": "ai", "config": {"prompt": prompt, **config}}


def _details(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    details: list[dict[str, Any]] = response.json()["error"]["details"]
    return details


async def _empty_leads(client: httpx.AsyncClient) -> Leads:
    user = await register(client)
    ws = await create_workspace(client, user)
    return await leads_table(client, user, ws["id"], 0)


async def _add(leads: Leads, body: dict[str, Any]) -> dict[str, Any]:
    response = await leads.add_column(body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _settled(leads: Leads, columns: list[str], timeout: float = 90.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await leads.rows()
        states = {r["meta"].get(c, {}).get("state") for r in rows for c in columns}
        if states <= {"done", "no_data", "error", "kept", None}:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"cells did not settle: {states}")
        await asyncio.sleep(0.2)


# -- config ---------------------------------------------------------------------------------------


async def test_config_is_stored_with_ids_and_follows_renames(client: httpx.AsyncClient) -> None:
    leads = await _empty_leads(client)
    column = await _add(leads, ai("Opener", "Write a one-line opener for {{First name}} at {{ domain }}."))
    config = column["config"]
    assert config["model"] == "gpt-4o-mini" and config["output"] == {"type": "text"}
    assert config["write_policy"] == "fill_empty" and config["auto_run"] is False
    assert config["refs"] == [leads.col["First name"], leads.col["Domain"]]
    assert config["parts"][1] == {"column_id": leads.col["First name"]}
    # Renaming a referenced column re-renders the prompt with the new name.
    renamed = await client.patch(
        leads.url(f"/columns/{leads.col['Domain']}"), json={"name": "Website"}, headers=leads.user.headers
    )
    assert renamed.status_code == 200, renamed.text
    table = await client.get(leads.url(), headers=leads.user.headers)
    (opener,) = [c for c in table.json()["data"]["columns"] if c["name"] == "Opener"]
    assert opener["config"]["prompt"] == "Write a one-line opener for {{First name}} at {{Website}}."
    # Sending back what was read (parts and refs included) is accepted and recomputed.
    patched = await client.patch(
        leads.url(f"/columns/{opener['id']}"), json={"config": opener["config"]}, headers=leads.user.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["config"]["refs"] == config["refs"]


async def test_bad_configs_are_422_naming_the_part(client: httpx.AsyncClient) -> None:
    leads = await _empty_leads(client)
    unknown = _details(await leads.add_column(ai("A", "Hi {{First name}},\nabout {{Compnay}}")))
    assert unknown == [
        {
            "field": "config.prompt",
            "message": "no column named 'Compnay'",
            "code": "unknown_column",
            "line": 2,
            "column": 7,
            "offset": 25,
        }
    ]
    unclosed = _details(await leads.add_column(ai("A", "Hi {{First name")))
    assert unclosed[0]["field"] == "config.prompt" and unclosed[0]["offset"] == 3
    assert _details(await leads.add_column(ai("A", "Hi", output={"type": "choice"})))[0]["field"] == "config.output"
    assert _details(await leads.add_column(ai("A", "Hi", output={"type": "text", "choices": ["a"]})))
    assert _details(await leads.add_column(ai("A", "Hi", output={"type": "choice", "choices": ["a", "A "]})))
    assert _details(await leads.add_column(ai("A", "Hi", model="gpt 4; drop")))[0]["field"] == "config.model"
    assert _details(await leads.add_column(ai("A", "Hi", colour="red")))[0]["field"] == "config.colour"
    assert _details(await leads.add_column(ai("A", "", output={})))[0]["field"] == "config.prompt"
    # What PostgreSQL cannot store is refused before anything is written.
    assert _details(await leads.add_column(ai("A", "nul\u0000byte")))[0]["field"] == "config"
    surrogate = await leads.client.post(
        leads.url("/columns"),
        content=b'{"name": "A", "type": "text", "kind": "ai", "config": {"prompt": "lone \\ud800 x"}}',
        headers={**leads.user.headers, "content-type": "application/json"},
    )
    assert _details(surrogate)[0]["field"] == "config"
    # A number answer cannot go into a checkbox column; text cannot go into a number column.
    typed = _details(await leads.add_column(ai("A", "Hi", "checkbox", output={"type": "number"})))
    assert typed[0]["field"] == "config.output.type"
    assert _details(await leads.add_column(ai("A", "Hi", "number")))[0]["field"] == "config.output.type"
    # JSON fields: existing data columns of a type a field can fill, not read by the prompt.
    date_col = await _add(leads, {"name": "Founded", "type": "date"})
    fields = {"ghost": "00000000-0000-4000-8000-000000000000", "founded": date_col["id"]}
    bad_fields = _details(
        await leads.add_column(ai("A", "{{Segment}}", "json", output={"type": "json", "fields": fields}))
    )
    assert [d["field"] for d in bad_fields] == ["config.output.fields.ghost", "config.output.fields.founded"]
    loop = _details(
        await leads.add_column(
            ai("A", "{{Segment}}", "json", output={"type": "json", "fields": {"seg": leads.col["Segment"]}})
        )
    )
    assert loop[0]["code"] == "run_loop"
    bad_name = _details(
        await leads.add_column(ai("A", "x", "json", output={"type": "json", "fields": {"a b": leads.col["Segment"]}}))
    )
    assert bad_name[0]["field"] == "config.output"
    only_if = _details(
        await leads.add_column(
            ai("A", "x", only_if={"conditions": [{"column_id": date_col["id"], "operator": "contains", "value": "x"}]})
        )
    )
    assert only_if[0]["field"].startswith("config.only_if")


# -- runs -----------------------------------------------------------------------------------------


async def test_run_fills_typed_cells_and_charges_only_valid_answers(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=1_000)
    leads = await leads_table(api, user, ws, 6, tag="ai")
    rows = await leads.rows()
    poisoned = rows[2]["id"]  # the emulator answers this row's prompts outside their schema
    patched = await api.patch(
        leads.url("/rows"),
        json={"rows": [{"id": poisoned, "cells": {leads.col["Segment"]: f"smb {INVALID_MARKER}"}}]},
        headers=user.headers,
    )
    assert patched.status_code == 200, patched.text
    industry = (await _add(leads, {"name": "Industry", "type": "text"}))["id"]
    size = (await _add(leads, {"name": "Size", "type": "number"}))["id"]
    b2b = (await _add(leads, {"name": "B2B", "type": "checkbox"}))["id"]
    prompt = "{{First name}} {{Last name}} works at {{Domain}} ({{Segment}})."
    opener = (await _add(leads, ai("Opener", "Write an opener: " + prompt)))["id"]
    count = (await _add(leads, ai("Employees", prompt, "number", output={"type": "number"})))["id"]
    tier = (await _add(leads, ai("Tier", prompt, "single_select", output={"type": "choice", "choices": CHOICES})))["id"]
    profile = (
        await _add(
            leads,
            ai(
                "Profile",
                prompt,
                "json",
                output={"type": "json", "fields": {"industry": industry, "employees": size, "is_b2b": b2b}},
            ),
        )
    )["id"]
    columns = [opener, count, tier, profile]
    start = await balance(api, user, ws)

    preview = await api.post(leads.url("/runs/preview"), json={"column_ids": columns}, headers=user.headers)
    assert preview.status_code == 200, preview.text
    p = preview.json()["data"]
    assert [c["rows"] for c in p["columns"]] == [6, 6, 6, 6]
    assert p["worst_case"] == 24 and p["columns"][0]["calls"][0]["provider"] == "openai"

    run = await leads.run({"column_ids": columns})
    jobs = [await wait_for_run(api, user, ws, r["job"]["id"]) for r in run["runs"]]
    assert [j["status"] for j in jobs] == [
        "completed",
        "partially_completed",
        "partially_completed",
        "partially_completed",
    ]

    rows = {r["id"]: r for r in await leads.rows()}
    for row_id, row in rows.items():
        cells, meta = row["cells"], row["meta"]
        assert isinstance(cells[opener], str) and cells[opener] and meta[opener]["state"] == "done"
        assert meta[opener]["provider"] == "openai" and meta[opener]["cost"] == 1
        if row_id == poisoned:
            for column in (count, tier, profile, industry, size, b2b):
                assert cells[column] is None and meta[column]["state"] == "error", meta[column]
            assert "does not fit the number output" in meta[count]["reason"]
            assert "is not one of the choices" in meta[tier]["reason"]
            assert "does not fit the json output" in meta[profile]["reason"]
            assert "cost" not in meta[count]
            continue
        assert isinstance(cells[count], (int, float)) and meta[count]["cost"] == 1
        assert cells[tier] in CHOICES
        assert set(cells[profile]) == {"industry", "employees", "is_b2b"} and meta[profile]["cost"] == 1
        assert cells[industry] == cells[profile]["industry"] and isinstance(cells[industry], str)
        assert cells[size] == cells[profile]["employees"] and cells[b2b] is cells[profile]["is_b2b"]
        for field_column in (industry, size, b2b):  # the call is paid once, on the AI column's own cell
            assert meta[field_column]["state"] == "done" and meta[field_column]["cost"] == 0

    # The ledger holds exactly what the cells say: one debit per paid cell, nothing for errors.
    paid = sum(r["meta"][c].get("cost", 0) for r in rows.values() for c in [*columns, industry, size, b2b])
    assert paid == 6 + 3 * 5
    debits = [await ledger(sessions, j["id"]) for j in jobs]
    assert debits == [(6, 6), (5, 5), (5, 5), (5, 5)]
    assert [j["credits"]["spent"] for j in jobs] == [6, 5, 5, 5]
    end = await balance(api, user, ws)
    assert end["balance"] == start["balance"] - paid and end["reserved"] == 0

    # Running again: fill-empty selects only the errored row; still invalid, still free.
    again = await leads.run({"column_ids": [count]})
    assert again["runs"][0]["rows"] == 1
    job = await wait_for_run(api, user, ws, again["runs"][0]["job"]["id"])
    assert job["credits"]["spent"] == 0 and await ledger(sessions, job["id"]) == (0, 0)
    history = await api.get(leads.url(f"/rows/{poisoned}/history"), params={"column_id": opener}, headers=user.headers)
    assert history.status_code == 200, history.text
    (entry,) = history.json()["data"]
    assert entry["source"] == "enrichment" and entry["new_value"] == rows[poisoned]["cells"][opener]


async def test_only_if_and_write_policies(api: httpx.AsyncClient, worker: None) -> None:
    user, ws = await funded_workspace(api, credits=1_000)
    leads = await leads_table(api, user, ws, 6, tag="aip")  # Segment: smb, enterprise, smb, ...
    only_smb = {"conditions": [{"column_id": leads.col["Segment"], "operator": "eq", "value": "smb"}]}
    note = (await _add(leads, ai("Note", "Summarise {{Domain}}", only_if=only_smb)))["id"]
    first = sorted(await leads.rows(), key=lambda r: r["id"])[0]["id"]
    typed = await api.patch(
        leads.url("/rows"), json={"rows": [{"id": first, "cells": {note: "mine"}}]}, headers=user.headers
    )
    assert typed.status_code == 200, typed.text
    run = await leads.run({"column_ids": [note]})
    assert run["runs"][0]["rows"] == 2  # 3 smb rows, one already filled (fill empty)
    await wait_for_run(api, user, ws, run["runs"][0]["job"]["id"])
    rows = await leads.rows()
    for row in rows:
        smb = row["cells"][leads.col["Segment"]] == "smb"
        if row["id"] == first:
            assert row["cells"][note] == "mine"
        elif smb:
            assert row["meta"][note]["state"] == "done" and row["cells"][note]
        else:
            assert note not in row["meta"] and row["cells"][note] is None

    # Overwrite: the typed value is replaced; the history keeps it.
    patched = await api.patch(
        leads.url(f"/columns/{note}"),
        json={"config": {"prompt": "Summarise {{Domain}}", "only_if": only_smb, "write_policy": "overwrite"}},
        headers=user.headers,
    )
    assert patched.status_code == 200, patched.text
    run = await leads.run({"column_ids": [note]})
    assert run["runs"][0]["rows"] == 3
    job = await wait_for_run(api, user, ws, run["runs"][0]["job"]["id"])
    # Only the row never asked before is paid: the other prompts are answered from the cache.
    assert job["credits"]["spent"] == 1
    after = {r["id"]: r for r in await leads.rows()}
    assert after[first]["cells"][note] != "mine" and after[first]["meta"][note]["cached"] is False
    smb = [r for i, r in after.items() if i != first and r["cells"][leads.col["Segment"]] == "smb"]
    assert [r["meta"][note]["cached"] for r in smb] == [True, True]
    assert [r["meta"][note]["cost"] for r in smb] == [0, 0]
    row = after[first]
    history = await api.get(leads.url(f"/rows/{first}/history"), params={"column_id": note}, headers=user.headers)
    assert "mine" in [h["old_value"] for h in history.json()["data"]]


async def test_rows_whose_referenced_cells_are_all_empty_are_not_run(api: httpx.AsyncClient, worker: None) -> None:
    user, ws = await funded_workspace(api, credits=1_000)
    leads = await leads_table(api, user, ws, 0, tag="aie")
    added = await api.post(
        leads.url("/rows"),
        json={"rows": [{leads.col["Domain"]: "a.com"}, {leads.col["First name"]: "Ann"}, {}]},
        headers=user.headers,
    )
    assert added.status_code == 201, added.text
    column = (await _add(leads, ai("Guess", "{{Domain}}"))).get("id")
    assert column
    run = await leads.run({"column_ids": [column]})
    assert run["runs"][0]["rows"] == 1 and run["runs"][0]["rows_missing_inputs"] == 2


async def test_auto_run_on_new_rows(api: httpx.AsyncClient, worker: None, auto_runs: None) -> None:  # noqa: F811
    user, ws = await funded_workspace(api, credits=1_000)
    leads = await leads_table(api, user, ws, 2, tag="aia")
    column = (await _add(leads, ai("Hook", "Opener for {{First name}} at {{Domain}}", auto_run=True)))["id"]
    new = people(2, offset=50, tag="aia")
    added = await api.post(
        leads.url("/rows"),
        json={"rows": [{leads.col["First name"]: p["first_name"], leads.col["Domain"]: p["domain"]} for p in new]},
        headers=user.headers,
    )
    assert added.status_code == 201, added.text
    new_ids = set(added.json()["data"]["ids"])
    deadline = time.monotonic() + 90
    while True:
        rows = {r["id"]: r for r in await leads.rows()}
        if all(rows[i]["meta"].get(column, {}).get("state") == "done" for i in new_ids):
            break
        assert time.monotonic() < deadline, [rows[i]["meta"] for i in new_ids]
        await asyncio.sleep(0.2)
    # Rows that existed before the column was saved are not run by saving it.
    assert all(column not in r["meta"] for i, r in rows.items() if i not in new_ids)
    # An auto-run AI column that would feed another auto-run column that feeds it is refused.
    loop = await leads.add_column(
        {
            "name": "Echo",
            "type": "email",
            "kind": "enrichment",
            "config": {
                "field": "email",
                "waterfall": ["hunter"],
                "inputs": {"first_name": column, "last_name": leads.col["Last name"], "domain": leads.col["Domain"]},
                "outputs": {"company_name": leads.col["First name"]},
                "auto_run": True,
            },
        }
    )
    assert loop.status_code == 422 and any(d.get("code") == "autorun_cycle" for d in _details(loop)), loop.text
