"""Running an enrichment column on table rows, on the real engine: Temporal dev server, worker,
PostgreSQL, the provider sandbox over HTTP. Cells fill in with their state and provenance, the
ledger holds one debit per paid cell, the balance moves by exactly that."""

from __future__ import annotations

from typing import Any

import httpx
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.columns.helpers import leads_table, wait_for_run
from tests.enrichment.helpers import balance, funded_workspace, ledger, wait_for_job, wait_for_progress


async def _events(sessions: async_sessionmaker[AsyncSession], table_id: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT event_type, count(*) FROM outbox_events WHERE table_id = :t GROUP BY 1"), {"t": table_id}
        )
    return {str(r[0]): int(r[1]) for r in rows}


async def test_run_fills_cells_and_charges_exactly_the_ledger(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 200, tag="run")
    created = await leads.add_column(leads.enrichment())
    assert created.status_code == 201, created.text
    email = leads.col["Work email"]
    start = await balance(api, user, ws)

    preview = await api.post(leads.url("/runs/preview"), json={"column_ids": [email]}, headers=user.headers)
    assert preview.status_code == 200, preview.text
    p = preview.json()["data"]
    assert p["columns"][0]["rows"] == 200 and p["columns"][0]["rows_missing_inputs"] == 0
    assert p["worst_case"] == 200 * max(c["cost"] for c in p["columns"][0]["calls"])
    assert p["available"] == start["available"] and p["affordable"] is True

    run = await leads.run({"column_ids": [email]})
    (only,) = run["runs"]
    assert only["rows"] == 200 and only["job"]["record_count"] == 200
    job = await wait_for_job(api, user, ws, only["job"]["id"])
    assert job["status"] in ("completed", "partially_completed"), job

    rows = await leads.rows()
    states = [r["meta"][email]["state"] for r in rows]
    assert set(states) <= {"done", "no_data", "error"}, set(states)
    done = [r for r in rows if r["meta"][email]["state"] == "done"]
    assert done, "the sandbox finds most people"
    for row in done:
        meta = row["meta"][email]
        assert row["cells"][email] and "@" in row["cells"][email]
        assert meta["provider"] in ("apollo", "hunter") and meta["job_id"] == job["id"] and meta["at"]
        assert isinstance(meta["cost"], int) and isinstance(meta["cached"], bool)
    for row in rows:
        if row["meta"][email]["state"] != "done":
            assert row["cells"][email] is None
    paid = sum(r["meta"][email]["cost"] for r in done)
    debits, spent = await ledger(sessions, job["id"])
    assert debits == sum(1 for r in done if r["meta"][email]["cost"] > 0)
    assert spent == paid == job["credits"]["spent"]
    end = await balance(api, user, ws)
    assert end["balance"] == start["balance"] - spent and end["reserved"] == 0

    # The grid heard about it: cell values and state changes went through the outbox.
    events = await _events(sessions, leads.table["id"])
    assert events.get("rows.updated", 0) + events.get("cell.updated", 0) > 0
    # History keeps the earlier (empty) value of each written cell, written by `enrichment`.
    history = await api.get(
        leads.url(f"/rows/{done[0]['id']}/history"), params={"column_id": email}, headers=user.headers
    )
    assert history.status_code == 200, history.text
    (entry,) = history.json()["data"]
    assert (
        entry["source"] == "enrichment" and entry["old_value"] is None and entry["new_value"] == done[0]["cells"][email]
    )

    # Fill-empty: running again only touches the cells still empty, and charges only for those.
    again = await leads.run({"column_ids": [email]})
    empty_before = sum(1 for r in rows if r["cells"][email] is None)
    assert again["runs"][0]["rows"] == empty_before
    if again["runs"][0]["job"] is not None:
        await wait_for_job(api, user, ws, again["runs"][0]["job"]["id"])
    after = {r["id"]: r for r in await leads.rows()}
    for row in done:
        assert after[row["id"]]["cells"][email] == row["cells"][email]


async def test_only_if_selection_and_overwrite(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 40, tag="oif")
    only_smb = {"conditions": [{"column_id": leads.col["Segment"], "operator": "eq", "value": "smb"}]}
    created = await leads.add_column(leads.enrichment(only_if=only_smb, write_policy="overwrite"))
    assert created.status_code == 201, created.text
    email = leads.col["Work email"]
    rows = await leads.rows()
    # A typed value in an smb row: overwrite replaces it (history keeps it); enterprise rows never run.
    typed = next(r for r in rows if r["cells"][leads.col["Segment"]] == "smb")
    put = await api.put(
        leads.url(f"/rows/{typed['id']}/cells/{email}"),
        json={"value": "old@typed.example", "version": typed["version"]},
        headers=user.headers,
    )
    assert put.status_code == 200, put.text

    selected = [r["id"] for r in rows[:10]]
    run = await leads.run({"column_ids": [email], "row_ids": selected})
    smb_selected = [r["id"] for r in rows[:10] if r["cells"][leads.col["Segment"]] == "smb"]
    assert run["runs"][0]["rows"] == len(smb_selected)
    await wait_for_job(api, user, ws, run["runs"][0]["job"]["id"])
    after = {r["id"]: r for r in await leads.rows()}
    for row_id, row in after.items():
        ran = row_id in smb_selected
        assert (email in row["meta"]) == ran, row
    if after[typed["id"]]["meta"][email]["state"] == "done" and typed["id"] in smb_selected:
        assert after[typed["id"]]["cells"][email] != "old@typed.example"
        history = await api.get(
            leads.url(f"/rows/{typed['id']}/history"), params={"column_id": email}, headers=user.headers
        )
        assert [h["new_value"] for h in history.json()["data"]][-1] == "old@typed.example"

    # A filter and only_empty: the rows matching it whose cell is still empty.
    segment = {"conditions": [{"column_id": leads.col["Segment"], "operator": "eq", "value": "smb"}]}
    body: dict[str, Any] = {"column_ids": [email], "filter": segment, "only_empty": True}
    preview = await api.post(leads.url("/runs/preview"), json=body, headers=user.headers)
    expected_rows = sum(
        1 for r in after.values() if r["cells"][leads.col["Segment"]] == "smb" and r["cells"][email] is None
    )
    assert preview.json()["data"]["columns"][0]["rows"] == expected_rows


async def test_a_run_above_the_balance_is_refused_before_anything(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10)
    leads = await leads_table(api, user, ws, 50, tag="poor")
    assert (await leads.add_column(leads.enrichment())).status_code == 201
    email = leads.col["Work email"]
    error = await leads.run({"column_ids": [email]}, expect=402)
    assert error["code"] == "insufficient_credits"
    assert error["details"]["available"] == 10 and error["details"]["estimated"] > 10
    rows = await leads.rows()
    assert all(email not in r["meta"] for r in rows), "nothing queued"
    async with sessions() as session:
        jobs = (await session.execute(text("SELECT count(*) FROM enrichment_jobs"))).scalar_one()
    assert jobs == 0
    preview = await api.post(leads.url("/runs/preview"), json={"column_ids": [email]}, headers=user.headers)
    assert preview.json()["data"]["affordable"] is False


async def test_run_refuses_bad_requests(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api, credits=10)
    leads = await leads_table(api, user, ws, 3, tag="bad")
    error = await leads.run({"column_ids": [leads.col["Domain"]]}, expect=422)
    assert error["details"][0]["field"] == "column_ids.0"
    assert (await leads.add_column(leads.enrichment())).status_code == 201
    email = leads.col["Work email"]
    bad_filter = {"conditions": [{"column_id": leads.col["Domain"], "operator": "gt", "value": 1}]}
    error = await leads.run({"column_ids": [email], "filter": bad_filter}, expect=422)
    assert error["code"] == "invalid_view"


async def test_cancel_a_column_run(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": 150}})).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    leads = await leads_table(api, user, ws, 600, tag="ccl")
    assert (await leads.add_column(leads.enrichment())).status_code == 201
    email = leads.col["Work email"]
    start = await balance(api, user, ws)
    run = await leads.run({"column_ids": [email]})
    job_id = run["runs"][0]["job"]["id"]
    await wait_for_progress(api, user, ws, job_id, 0.3, timeout=300)
    cancel = await api.post(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}/cancel", headers=user.headers)
    assert cancel.status_code == 200, cancel.text
    job = await wait_for_job(api, user, ws, job_id, timeout=60)
    assert job["status"] == "cancelled" and job["counts"]["cancelled"] > 0

    rows = await leads.rows()
    states: dict[str, int] = {}
    for row in rows:
        name = row["meta"][email]["state"]
        states[name] = states.get(name, 0) + 1
    assert set(states) <= {"done", "no_data", "error", "cancelled"}, states
    assert states.get("cancelled", 0) == job["counts"]["cancelled"]
    debits, spent = await ledger(sessions, job_id)
    assert debits == sum(1 for r in rows if r["meta"][email].get("cost", 0) > 0)
    assert spent == job["credits"]["spent"] == sum(r["meta"][email].get("cost", 0) for r in rows)
    end = await balance(api, user, ws)
    assert end["reserved"] == 0 and end["balance"] == start["balance"] - spent


async def test_a_budget_stops_the_run_exactly_at_the_budget(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 200, tag="bdg")
    assert (await leads.add_column(leads.enrichment())).status_code == 201
    email = leads.col["Work email"]
    start = await balance(api, user, ws)
    budget = 25  # every email costs 1 here, so the run can spend the budget to the credit
    run = await leads.run({"column_ids": [email], "budget": budget})
    assert run["runs"][0]["job"]["credits"]["reserved"] == budget
    job = await wait_for_run(api, user, ws, run["runs"][0]["job"]["id"])
    assert job["status"] == "budget_reached", job
    debits, spent = await ledger(sessions, job["id"])
    assert spent == budget == job["credits"]["spent"]
    assert job["counts"]["cancelled"] > 0 and job["counts"]["pending"] == 0
    rows = await leads.rows()
    states = [r["meta"][email]["state"] for r in rows]
    assert states.count("skipped") == job["counts"]["cancelled"]
    assert debits == sum(1 for r in rows if r["meta"][email]["state"] == "done" and r["meta"][email]["cost"] > 0)
    end = await balance(api, user, ws)
    assert end["reserved"] == 0 and end["balance"] == start["balance"] - budget
