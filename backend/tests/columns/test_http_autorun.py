"""HTTP API columns with the rest of the column machinery (issue 10 leftovers), on the real stack
(PostgreSQL, the Temporal dev server, an in-process worker, a JSON API on a real socket):

- auto-run on new rows and on edits of a column the template reads, under the table's switch,
  with loops refused (a column reading itself, two auto-run columns reading each other);
- the reconciler: a run whose workflow could not start, or was cancelled before it started, or
  whose workflow was terminated, is started or settled;
- `POST .../runs` runs every computed kind (enrichment, HTTP, formula, lookup) and previews them;
- a rename of a column the template reads rewrites the template.

The auto-runner is driven by draining its outbox consumer in the test, so "nothing ran" is read
from the database once the events are handled, not waited for."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.columns.autorun import CONSUMER, AutoRunner
from morket.columns.http_reconciler import reconcile_http_runs
from morket.core.config import Settings
from morket.models import HttpColumnRun
from morket.outbox.consumer import OutboxConsumer
from tests.columns.api_server import COMPANIES, ApiServer
from tests.columns.test_http_columns import Sheet, _company_config, _sheet
from tests.factories import create_workspace, register

Sessions = async_sessionmaker[AsyncSession]


async def _drain(settings: Settings, client: Client, sessions: Sessions) -> list[HttpColumnRun]:
    """Handle every outbox event the auto-runner has not seen, start what it queued; the HTTP
    runs it started."""
    runner = AutoRunner(settings)
    await OutboxConsumer(CONSUMER, None, sessions, session_handler=runner.handle).drain()
    runs = [run for started in runner.queued for run in started.http_runs]
    async with sessions() as session:
        await runner.start_queued(session, client)
    return runs


async def _run_count(sessions: Sessions, column_id: str) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(HttpColumnRun).where(HttpColumnRun.column_id == uuid.UUID(column_id))
        return int(await session.scalar(stmt) or 0)


async def _add_rows(sheet: Sheet, domains: list[str]) -> list[int]:
    rows = [{sheet.col["Domain"]: d} for d in domains]
    added = await sheet.client.post(sheet.url("/rows"), json={"rows": rows}, headers=sheet.user.headers)
    assert added.status_code == 201, added.text
    ids: list[int] = added.json()["data"]["ids"]
    return ids


async def _edit(sheet: Sheet, row_id: int, column: str, value: Any) -> None:
    body = {"rows": [{"id": row_id, "cells": {sheet.col[column]: value}}]}
    edited = await sheet.client.patch(sheet.url("/rows"), json=body, headers=sheet.user.headers)
    assert edited.status_code == 200, edited.text


async def _by_id(sheet: Sheet) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in await sheet.rows()}


# -- auto-run -------------------------------------------------------------------------------------


async def test_auto_run_on_new_rows_and_edits_of_template_inputs(
    api: httpx.AsyncClient,
    worker: None,
    api_server: ApiServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
) -> None:
    sheet = await _sheet(api, ["acme.com"])
    created = await sheet.add_http(**_company_config(api_server, auto_run=True))
    assert created.status_code == 201, created.text
    employees = sheet.col["Employees"]
    # Saving the column does not run it on the rows already there.
    assert await _drain(enrichment_settings, temporal_client, sessions) == []
    assert await _run_count(sessions, employees) == 0

    # New rows run (the one without a domain is not asked: the URL cannot be built).
    new = await _add_rows(sheet, ["initech.io", "hooli.xyz"])
    (run,) = await _drain(enrichment_settings, temporal_client, sessions)
    assert run.row_count == 2 and run.created_by is None
    done = await sheet.wait(str(run.id))
    assert (done["status"], done["done_count"]) == ("completed", 2)
    rows = await _by_id(sheet)
    assert [rows[i]["cells"][employees] for i in new] == [COMPANIES["initech.io"], COMPANIES["hooli.xyz"]]
    first = next(i for i, r in rows.items() if r["cells"][sheet.col["Domain"]] == "acme.com")
    assert rows[first]["cells"][employees] is None  # the old row still was never run

    # An edit of a column the template does not read runs nothing; no run is recorded for it.
    await _edit(sheet, first, "Seats", 42)
    assert await _drain(enrichment_settings, temporal_client, sessions) == []
    # An edit of the column the URL reads runs that row (fill-empty: its cell is empty).
    await _edit(sheet, first, "Domain", "hooli.xyz")
    (edited,) = await _drain(enrichment_settings, temporal_client, sessions)
    assert edited.row_count == 1
    assert (await sheet.wait(str(edited.id)))["done_count"] == 1
    assert (await _by_id(sheet))[first]["cells"][employees] == COMPANIES["hooli.xyz"]
    # The run's own writes are not edits of an input: nothing more runs.
    assert await _drain(enrichment_settings, temporal_client, sessions) == []
    assert await _run_count(sessions, employees) == 2

    # The table's switch off: new rows run nothing; the column keeps its own switch.
    off = await api.patch(sheet.url(), json={"auto_run": False}, headers=sheet.user.headers)
    assert off.status_code == 200, off.text
    await _add_rows(sheet, ["acme.com"])
    assert await _drain(enrichment_settings, temporal_client, sessions) == []
    assert await _run_count(sessions, employees) == 2


@pytest.mark.usefixtures("worker")
async def test_inbound_rows_run_http_auto_run_columns(
    api: httpx.AsyncClient,
    api_server: ApiServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
) -> None:
    sheet = await _sheet(api, [])
    assert (await sheet.add_http(**_company_config(api_server, auto_run=True))).status_code == 201
    opened = await api.post(sheet.url("/inbound"), json={}, headers=sheet.user.headers)
    assert opened.status_code == 201, opened.text
    received = await api.post(opened.json()["data"]["path"], json=[{"Domain": "acme.com"}])
    assert received.status_code == 201, received.text
    (run,) = await _drain(enrichment_settings, temporal_client, sessions)
    assert (await sheet.wait(str(run.id)))["done_count"] == 1
    (row,) = await sheet.rows()
    assert row["cells"][sheet.col["Employees"]] == COMPANIES["acme.com"]


async def test_run_loops_are_refused(api: httpx.AsyncClient, api_server: ApiServer) -> None:
    sheet = await _sheet(api, [])
    base = _company_config(api_server)
    assert (await sheet.add_http(**base)).status_code == 201
    employees = sheet.col["Employees"]
    # A column whose template reads its own output.
    own = await api.patch(
        sheet.url(f"/columns/{employees}"),
        json={"config": {**base, "url": f"{api_server.url}/companies/{{{{Employees}}}}"}},
        headers=sheet.user.headers,
    )
    assert own.status_code == 422, own.text
    assert [d.get("code") for d in own.json()["error"]["details"]] == ["run_loop"]
    # Two auto-run columns reading each other: the second one saved is refused.
    reader = {**base, "url": f"{api_server.url}/companies/{{{{Employees}}}}", "auto_run": True}
    assert (await sheet.add_http("Echo", "text", **reader)).status_code == 201
    cycle = await api.patch(
        sheet.url(f"/columns/{employees}"),
        json={"config": {**base, "url": f"{api_server.url}/companies/{{{{echo}}}}", "auto_run": True}},
        headers=sheet.user.headers,
    )
    assert cycle.status_code == 422, cycle.text
    assert [d.get("code") for d in cycle.json()["error"]["details"]] == ["autorun_cycle"]
    # The same reference without auto-run is a column one runs by hand: allowed.
    manual = await api.patch(
        sheet.url(f"/columns/{employees}"),
        json={"config": {**base, "url": f"{api_server.url}/companies/{{{{echo}}}}"}},
        headers=sheet.user.headers,
    )
    assert manual.status_code == 200, manual.text
    # An unclosed reference points at its offset.
    unclosed = await sheet.add_http("Broken", **{**base, "url": f"{api_server.url}/c/{{{{Domain"})
    assert unclosed.status_code == 422
    (detail,) = unclosed.json()["error"]["details"]
    assert detail["field"] == "config.url" and detail["offset"] == len(f"{api_server.url}/c/")


# -- the reconciler -------------------------------------------------------------------------------


async def test_reconciler_starts_a_run_whose_workflow_did_not_start(
    api: httpx.AsyncClient,
    api_temporal_down: httpx.AsyncClient,
    worker: None,
    api_server: ApiServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
) -> None:
    sheet = await _sheet(api, ["acme.com", "initech.io", "hooli.xyz"])
    assert (await sheet.add_http(**_company_config(api_server))).status_code == 201
    # Temporal is unreachable when the run is posted (through the one runs route): it is
    # recorded, its cells queued, and nothing runs it.
    body = {"column_ids": [sheet.col["Employees"]]}
    posted = await api_temporal_down.post(sheet.url("/runs"), json=body, headers=sheet.user.headers)
    assert posted.status_code == 201, posted.text
    run = posted.json()["data"]["runs"][0]["http_run"]
    assert (run["status"], run["row_count"]) == ("queued", 3)
    # A young run is left alone (its workflow may be starting); an older one gets its workflow.
    assert await reconcile_http_runs(temporal_client, enrichment_settings, sessions) == 0
    assert (await sheet.run(run["id"])).json()["data"]["status"] == "queued"
    assert await reconcile_http_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 1
    done = await sheet.wait(run["id"])
    assert (done["status"], done["done_count"]) == ("completed", 3)
    assert sorted(r["cells"][sheet.col["Employees"]] for r in await sheet.rows()) == sorted(COMPANIES.values())
    # A settled run is not touched again.
    assert await reconcile_http_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 0


async def test_reconciler_settles_cancelled_and_terminated_runs(
    api: httpx.AsyncClient,
    api_temporal_down: httpx.AsyncClient,
    api_server: ApiServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: Sessions,
) -> None:
    # No worker: a started workflow waits for one.
    sheet = await _sheet(api, ["acme.com", "initech.io"])
    assert (await sheet.add_http(**_company_config(api_server))).status_code == 201
    assert (await sheet.add_http("Again", **_company_config(api_server))).status_code == 201
    down = Sheet(api_temporal_down, sheet.user, sheet.ws, sheet.table)
    down.col = sheet.col
    # Never started, then cancelled: no workflow will ever settle it.
    unstarted = (await down.start("Employees")).json()["data"]
    cancel = await api.post(
        f"/api/v1/workspaces/{sheet.ws}/http-runs/{unstarted['id']}/cancel", headers=sheet.user.headers
    )
    assert cancel.status_code == 200, cancel.text
    # Started, then its workflow terminated by an operator before it settled the run.
    killed = (await sheet.start("Again")).json()["data"]
    async with sessions() as session:
        workflow_id = (await session.get(HttpColumnRun, uuid.UUID(killed["id"]))).workflow_id  # type: ignore[union-attr]
    await temporal_client.get_workflow_handle(workflow_id).terminate(reason="operator")

    assert await reconcile_http_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 2
    cancelled = (await sheet.run(unstarted["id"])).json()["data"]
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    failed = (await sheet.run(killed["id"])).json()["data"]
    assert failed["status"] == "failed" and "terminated" in failed["error"]
    for row in await sheet.rows():
        assert row["meta"][sheet.col["Employees"]]["state"] == "cancelled"
        assert row["meta"][sheet.col["Again"]]["state"] == "error"
        assert "terminated" in row["meta"][sheet.col["Again"]]["reason"]
        assert row["cells"][sheet.col["Employees"]] is None and row["cells"][sheet.col["Again"]] is None
    assert await reconcile_http_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 0


# -- one runs route for every computed kind -------------------------------------------------------


async def test_runs_route_runs_every_computed_kind(
    api: httpx.AsyncClient, worker: None, api_server: ApiServer, sessions: Sessions
) -> None:
    sheet = await _sheet(api, ["acme.com", "initech.io", None])
    user, ws = sheet.user, sheet.ws
    headers = user.headers
    assert (await sheet.add_http(**_company_config(api_server))).status_code == 201
    formula = await api.post(
        sheet.url("/columns"),
        json={"name": "Upper", "type": "text", "kind": "formula", "config": {"expression": "UPPER({Domain})"}},
        headers=headers,
    )
    assert formula.status_code == 201, formula.text
    # A lookup into another table of the workspace: seats by domain.
    other = await api.post(
        f"/api/v1/workspaces/{ws}/tables",
        json={"name": "Accounts", "columns": [{"name": "Domain", "type": "text"}, {"name": "Owner", "type": "text"}]},
        headers=headers,
    )
    assert other.status_code == 201, other.text
    accounts = other.json()["data"]
    acc = {c["name"]: c["id"] for c in accounts["columns"]}
    lookup = await api.post(
        sheet.url("/columns"),
        json={
            "name": "Owner",
            "type": "text",
            "kind": "lookup",
            "config": {
                "table_id": accounts["id"],
                "match": {"column_id": sheet.col["Domain"], "target_column_id": acc["Domain"]},
                "return_column_id": acc["Owner"],
            },
        },
        headers=headers,
    )
    assert lookup.status_code == 201, lookup.text
    added = await api.post(
        f"/api/v1/workspaces/{ws}/tables/{accounts['id']}/rows",
        json={"rows": [{acc["Domain"]: "acme.com", acc["Owner"]: "ann"}]},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    ids = {
        name: formula.json()["data"]["id"] if name == "Upper" else lookup.json()["data"]["id"]
        for name in ("Upper", "Owner")
    }
    column_ids = [sheet.col["Employees"], ids["Upper"], ids["Owner"]]

    preview = await api.post(sheet.url("/runs/preview"), json={"column_ids": column_ids}, headers=headers)
    assert preview.status_code == 200, preview.text
    shown = preview.json()["data"]
    assert [(c["kind"], c["rows"], c["rows_missing_inputs"], c["worst_case"]) for c in shown["columns"]] == [
        ("http", 2, 1, 0),
        ("formula", 3, 0, 0),
        ("lookup", 3, 0, 0),
    ]
    assert (shown["worst_case"], shown["affordable"]) == (0, True)

    started = await api.post(sheet.url("/runs"), json={"column_ids": column_ids}, headers=headers)
    assert started.status_code == 201, started.text
    runs = started.json()["data"]["runs"]
    assert [(r["column_id"], r["kind"], r["job"]) for r in runs] == [
        (sheet.col["Employees"], "http", None),
        (ids["Upper"], "formula", None),
        (ids["Owner"], "lookup", None),
    ]
    http_run = runs[0]["http_run"]
    assert (runs[0]["rows"], runs[0]["rows_missing_inputs"], http_run["row_count"]) == (2, 1, 2)
    assert runs[1]["rows_changed"] == 0  # formulas are always up to date: nothing changed
    assert runs[2]["rows_changed"] == 1  # the account added after the column was made
    assert (await sheet.wait(http_run["id"]))["done_count"] == 2
    by_domain = {r["cells"][sheet.col["Domain"]]: r["cells"] for r in await sheet.rows()}
    assert by_domain["acme.com"][sheet.col["Employees"]] == COMPANIES["acme.com"]
    assert by_domain["acme.com"][ids["Owner"]] == "ann"
    assert by_domain["initech.io"][ids["Upper"]] == "INITECH.IO"

    # Refusals name the column's place in the request, whatever part refused it.
    refused = await api.post(
        sheet.url("/runs"), json={"column_ids": [ids["Upper"], sheet.col["Domain"], str(uuid.uuid4())]}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["column_ids.1", "column_ids.2"]
    # Another workspace's member sees nothing.
    outsider = await register(api)
    await create_workspace(api, outsider)
    hidden = await api.post(sheet.url("/runs"), json={"column_ids": column_ids}, headers=outsider.headers)
    assert hidden.status_code == 404, hidden.text


async def test_rename_rewrites_the_template_and_runs_still_work(
    api: httpx.AsyncClient, worker: None, api_server: ApiServer
) -> None:
    sheet = await _sheet(api, ["acme.com"])
    config = _company_config(api_server, method="POST", body={"{{Domain}}": "{{ Domain }}", "n": "{{Seats}}"})
    config["url"] = f"{api_server.url}/echo?d={{{{domain}}}}"
    config["extract"] = "$.received"
    assert (await sheet.add_http("Echo", "json", **config)).status_code == 201
    renamed = await api.patch(
        sheet.url(f"/columns/{sheet.col['Domain']}"), json={"name": "Website"}, headers=sheet.user.headers
    )
    assert renamed.status_code == 200, renamed.text
    table = (await api.get(sheet.url(), headers=sheet.user.headers)).json()["data"]
    stored = next(c for c in table["columns"] if c["name"] == "Echo")["config"]
    assert stored["url"] == f"{api_server.url}/echo?d={{{{Website}}}}"
    assert stored["body"] == {"{{Website}}": "{{Website}}", "n": "{{Seats}}"}
    assert stored["refs"] == {"Website": sheet.col["Domain"], "Seats": sheet.col["Seats"]}
    run = (await sheet.start("Echo")).json()["data"]
    assert (await sheet.wait(run["id"]))["done_count"] == 1
    (row,) = await sheet.rows()
    assert row["cells"][sheet.col["Echo"]] == {"acme.com": "acme.com", "n": 1}
