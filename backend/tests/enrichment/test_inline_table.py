"""Issue 10, item 3: inline job records go into a table, and the job's endpoints read it.

A job posted with records makes (or fills) a table: one data column per record key, one
enrichment column per field, one row per record; the job runs as a column run on those rows,
so the cells fill in with provenance, and the records endpoints read input and output from the
rows (an edit in the grid shows in the job's records)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.models import DataTable, EnrichmentJob
from tests.enrichment.helpers import all_records, balance, create_job, funded_workspace, ledger, people, wait_for_job
from tests.factories import create_workspace, register

FIELDS = ["email", "company_name", "industry"]
WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}


def _jobs(ws: str, path: str = "") -> str:
    return f"/api/v1/workspaces/{ws}/enrichment-jobs{path}"


def _tables(ws: str, path: str = "") -> str:
    return f"/api/v1/workspaces/{ws}/tables{path}"


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        tables = await session.scalar(select(func.count()).select_from(DataTable))
        jobs = await session.scalar(select(func.count()).select_from(EnrichmentJob))
    return int(tables or 0), int(jobs or 0)


async def test_inline_job_makes_a_table_and_reads_it(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    start = await balance(api, user, ws)
    records = people(40, tag="inl")
    records[0]["notes"] = {"source": "crm", "score": 7}  # a key no provider reads, not text
    job = await create_job(api, user, ws, {"records": records, "fields": FIELDS, "waterfall": WATERFALL})
    assert job["table_id"]

    table = (await api.get(_tables(ws, f"/{job['table_id']}"), headers=user.headers)).json()["data"]
    assert table["name"] == f"Enrichment job {job['id']}"
    assert table["row_count"] == 40
    columns = {c["name"]: c for c in table["columns"]}
    assert set(columns) == {"first_name", "last_name", "domain", "notes", *FIELDS}
    assert (columns["first_name"]["kind"], columns["first_name"]["type"]) == ("data", "text")
    assert columns["notes"]["type"] == "json"
    for field in FIELDS:
        config = columns[field]["config"]
        assert columns[field]["kind"] == "enrichment"
        assert (config["field"], config["waterfall"], config["auto_run"]) == (field, WATERFALL[field], False)
        assert set(config["inputs"]) == {"first_name", "last_name", "domain"}  # notes is no provider input

    done = await wait_for_job(api, user, ws, job["id"])
    assert done["status"] in ("completed", "partially_completed"), done
    assert done["table_id"] == job["table_id"]
    got = await all_records(api, user, ws, job["id"])
    assert [r["input"] for r in got] == records  # read back from the rows, values unchanged

    rows = {
        r["id"]: r
        for r in (await api.get(_tables(ws, f"/{job['table_id']}/rows"), headers=user.headers)).json()["data"]
    }
    assert sorted(rows) == sorted(r["row_id"] for r in got)
    found = 0
    for record in got:
        row = rows[record["row_id"]]
        for field in FIELDS:
            col = columns[field]["id"]
            result = record["results"][field]
            assert row["cells"][col] == record["output"].get(field)
            state = row["meta"][col]
            if result["status"] == "found":
                found += result["cost"] > 0
                assert row["cells"][col] == result["value"]
                assert (state["state"], state["provider"], state["cost"]) == (
                    "done",
                    result["provider"],
                    result["cost"],
                )
                assert state["job_id"] == job["id"]
            elif result["status"] == "not_found":
                assert row["cells"][col] is None and state["state"] == "no_data"
            else:
                assert row["cells"][col] is None and state["state"] == "error"
    assert found > 0
    # One debit per paid cell, the balance moved by exactly what was spent.
    debits = await ledger(sessions, job["id"])
    assert debits == (found, done["credits"]["spent"])
    assert (await balance(api, user, ws))["balance"] == start["balance"] - done["credits"]["spent"]

    # One store: an edit in the grid is what the job's records show.
    first = got[0]
    patch = await api.patch(
        _tables(ws, f"/{job['table_id']}/rows"),
        json={"rows": [{"id": first["row_id"], "cells": {columns["domain"]["id"]: "moved.example"}}]},
        headers=user.headers,
    )
    assert patch.status_code == 200, patch.text
    detail = (await api.get(f"/api/v1/workspaces/{ws}/enrichment-records/{first['id']}", headers=user.headers)).json()
    assert detail["data"]["input"]["domain"] == "moved.example"
    assert detail["data"]["row_id"] == first["row_id"]
    assert detail["data"]["attempts"]

    # A deleted table: its data went with it (one store); the job keeps its bookkeeping, and the
    # results their provenance from the job's attempts.
    admin_delete = await api.delete(_tables(ws, f"/{job['table_id']}"), headers=user.headers)
    assert admin_delete.status_code == 200, admin_delete.text
    kept = await all_records(api, user, ws, job["id"])
    assert all(r["input"] == {} and r["output"] == {} for r in kept)
    assert [r["status"] for r in kept] == [r["status"] for r in got]
    assert [r["credits_spent"] for r in kept] == [r["credits_spent"] for r in got]
    for before, after in zip(got, kept, strict=True):
        for field in FIELDS:
            was, now = before["results"][field], after["results"][field]
            assert (now["status"], now["provider"], now["cost"], now["cached"]) == (
                was["status"],
                was["provider"] if was["status"] == "found" else None,
                was["cost"],
                was["cached"],
            ), (was, now)


async def test_inline_job_into_a_named_table(api: httpx.AsyncClient, worker: None) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    created = await api.post(
        _tables(ws),
        json={
            "name": "Prospects",
            "columns": [{"name": "FIRST_NAME", "type": "text"}, {"name": "Email", "type": "text"}],
        },
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    table = created.json()["data"]
    old = await api.post(
        _tables(ws, f"/{table['id']}/rows"),
        json={"rows": [{table["columns"][0]["id"]: "Existing"}]},
        headers=user.headers,
    )
    assert old.status_code == 201, old.text

    records = people(12, tag="named")
    job = await create_job(
        api,
        user,
        ws,
        {
            "records": records,
            "fields": ["email"],
            "waterfall": {"email": ["apollo", "hunter"]},
            "table_id": table["id"],
            "options": {"label": "ignored for a named table"},
        },
    )
    assert job["table_id"] == table["id"]
    after = (await api.get(_tables(ws, f"/{table['id']}"), headers=user.headers)).json()["data"]
    assert after["name"] == "Prospects" and after["row_count"] == 13
    names = [c["name"] for c in after["columns"]]
    # Matched by name ignoring case; missing input columns created; the data column "Email" is the target.
    assert names == ["FIRST_NAME", "Email", "last_name", "domain"]
    done = await wait_for_job(api, user, ws, job["id"])
    assert done["status"] in ("completed", "partially_completed"), done
    got = await all_records(api, user, ws, job["id"])
    assert [r["input"] for r in got] == records
    email = after["columns"][1]["id"]
    rows = {
        r["id"]: r for r in (await api.get(_tables(ws, f"/{table['id']}/rows"), headers=user.headers)).json()["data"]
    }
    assert any(r["output"].get("email") for r in got)
    for record in got:
        assert rows[record["row_id"]]["cells"][email] == record["output"].get("email")


async def test_inline_job_refusals_write_nothing(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    typed = await api.post(
        _tables(ws), json={"name": "Typed", "columns": [{"name": "domain", "type": "number"}]}, headers=user.headers
    )
    assert typed.status_code == 201, typed.text
    typed_id = typed.json()["data"]["id"]
    before = await _counts(sessions)
    body: dict[str, Any] = {"records": people(3, tag="bad"), "fields": ["email"], "waterfall": {"email": ["apollo"]}}

    # A value that does not fit the named table's column: 422 naming the record, nothing written.
    response = await api.post(_jobs(ws), json={**body, "table_id": typed_id}, headers=user.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_records"
    assert error["details"][0]["index"] == 0 and error["details"][0]["field"] == "records.0.domain"
    assert (await api.get(_tables(ws, f"/{typed_id}"), headers=user.headers)).json()["data"]["row_count"] == 0

    # Another workspace's table, or none: 404.
    stranger = await register(api)
    other = await create_workspace(api, stranger, "Other")
    theirs = await api.post(_tables(other["id"]), json={"name": "Theirs"}, headers=stranger.headers)
    for table_id in (theirs.json()["data"]["id"], "00000000-0000-4000-8000-000000000000"):
        response = await api.post(_jobs(ws), json={**body, "table_id": table_id}, headers=user.headers)
        assert response.status_code == 404, response.text
    assert (await api.post(_jobs(ws), json={**body, "table_id": "nope"}, headers=user.headers)).status_code == 422

    # A label names the new table; a blank one does not.
    for label, expected in (("Q3 leads", "Q3 leads"), ("   ", None)):
        job = await create_job(api, user, ws, {**body, "options": {"label": label}})
        table = (await api.get(_tables(ws, f"/{job['table_id']}"), headers=user.headers)).json()["data"]
        assert table["name"] == (expected or f"Enrichment job {job['id']}")
        before = (before[0] + 1, before[1] + 1)

    # Not enough credits: 402 before a table is made.
    poor, poor_ws = await funded_workspace(api, credits=1)
    response = await api.post(_jobs(poor_ws), json=body, headers=poor.headers)
    assert response.status_code == 402, response.text
    assert await _counts(sessions) == (before[0] + 1, before[1])  # only the stranger's table
