"""CRM export on the real stack: the sandbox's HubSpot and Salesforce emulation over HTTP (OAuth
pages, token endpoints, batch upserts), the Temporal dev server with an in-process worker, and
PostgreSQL. Tokens come from the OAuth flow and live in the vault; runs push in the CRMs' batch
sizes, survive partial failures, 429s, expired tokens and lost answers, can be cancelled, and a
rerun pushes only the rows whose mapped values changed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.crm.reconciler import reconcile_crm_runs
from morket.models import CrmExportRun
from morket.worker import build_worker
from tests.crm.helpers import Workspace, people
from tests.factories import add_member, register

HUBSPOT_CONTACTS = {"Email": "email", "First": "firstname", "Last": "lastname", "Company": "company"}
SALESFORCE_CONTACT = {"Email": "Email", "First": "FirstName", "Last": "LastName"}


async def _vault_row(sessions: async_sessionmaker[AsyncSession], ws: str, provider: str) -> tuple[bytes, str]:
    async with sessions() as session:
        row = (
            await session.execute(
                text("SELECT ciphertext, key_hint FROM credentials WHERE workspace_id = :w AND provider = :p"),
                {"w": ws, "p": provider},
            )
        ).one()
    return bytes(row[0]), str(row[1])


async def test_connect_stores_tokens_in_the_vault_and_the_state_is_single_use_and_bound(
    api: httpx.AsyncClient, sandbox: SandboxServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    space = await Workspace.create(api, sandbox)
    code, state = await space.authorize("hubspot")

    # Another member of the workspace cannot finish this user's connect (state bound to the user).
    other = await register(api)
    await add_member(api, space.user, space.ws, other, "admin")
    stolen = await space.post("/crm/connections/callback", {"code": code, "state": state}, user=other)
    assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "invalid_oauth_state"

    done = await space.post("/crm/connections/callback", {"code": code, "state": state})
    assert done.status_code == 201, done.text
    connection = done.json()["data"]
    assert connection["crm"] == "hubspot" and connection["connected"] is True
    assert "token" not in done.text.lower().replace("tokens", "")

    # The state works once.
    again = await space.post("/crm/connections/callback", {"code": code, "state": state})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_oauth_state"

    # A code the CRM does not know: the CRM's refusal, as a 400.
    _, fresh_state = await space.authorize("hubspot")
    refused = await space.post("/crm/connections/callback", {"code": "hu-code-forged", "state": fresh_state})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "oauth_code_refused"

    # Tokens are in the vault, encrypted: the masked list shows the credential, never a token.
    ciphertext, _ = await _vault_row(sessions, space.ws, "hubspot")
    assert b"access" not in ciphertext and b"refresh" not in ciphertext
    listed = await space.get("/crm/connections")
    assert [c["id"] for c in listed.json()["data"]] == [connection["id"]]
    credentials = await space.get("/credentials")
    assert [c["provider"] for c in credentials.json()["data"]] == ["hubspot"]

    # A reconnect replaces the tokens of the same connection.
    second = await space.connect("hubspot")
    assert second["id"] == connection["id"]

    deleted = await api.delete(space.url(f"/crm/connections/{connection['id']}"), headers=space.user.headers)
    assert deleted.status_code == 200, deleted.text
    assert (await space.get("/crm/connections")).json()["data"] == []
    assert (await space.get("/credentials")).json()["data"] == []


async def test_mapping_is_validated(api: httpx.AsyncClient, sandbox: SandboxServer) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(1))
    connection = await space.connect("hubspot")
    unknown_object = await space.export(connection["id"], "widgets", HUBSPOT_CONTACTS)
    assert unknown_object.status_code == 422, unknown_object.text
    assert unknown_object.json()["error"]["code"] == "invalid_mapping"
    no_key = await space.export(connection["id"], "contacts", {"First": "firstname"})
    assert no_key.status_code == 422
    assert any(d["field"] == "key_property" for d in no_key.json()["error"]["details"])
    body = {
        "table_id": space.table["id"],
        "connection_id": connection["id"],
        "object_type": "contacts",
        "mapping": [{"column_id": str(uuid.uuid4()), "property": "email"}],
    }
    unknown_column = await space.post("/crm/exports", body)
    assert unknown_column.status_code == 422
    assert unknown_column.json()["error"]["details"][0]["field"] == "mapping.0.column_id"
    foreign = await space.export(str(uuid.uuid4()), "contacts", HUBSPOT_CONTACTS)
    assert foreign.status_code == 404


async def test_hubspot_push_in_batches_with_partial_failures_writes_results_back(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer
) -> None:
    rows = people(230)
    rows[5]["Email"] = "not-an-email"  # HubSpot refuses it: a 207 with an errors entry
    rows[7]["Email"] = None  # no key: never sent
    space = await Workspace.create(api, sandbox)
    await space.add_table(rows)
    connection = await space.connect("hubspot")
    created = await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)
    assert created.status_code == 201, created.text
    export = created.json()["data"]
    assert export["key_property"] == "email"

    run = await space.start(export["id"])
    assert run["row_count"] == 230 and run["status"] == "queued"
    done = await space.wait(run["id"])
    assert done["status"] == "completed", done
    assert (done["pushed_count"], done["created_count"], done["updated_count"]) == (228, 228, 0)
    assert (done["failed_count"], done["skipped_count"]) == (2, 0)
    assert done["batches"] == 3  # 229 sent: 100 + 100 + 29

    records = {r["key"]: r for r in await space.crm_records("hubspot")}
    assert len(records) == 228
    assert records["person0@acme0.com"]["properties"]["firstname"] == "First0"
    assert records["person0@acme0.com"]["properties"]["company"] == "Acme 0"

    columns = await space.columns()
    id_col, status_col, error_col = (columns[f"HubSpot contacts {p}"] for p in ("id", "status", "error"))
    by_email = {r["cells"][space.col["Email"]]: r["cells"] for r in await space.rows()}
    first = by_email["person0@acme0.com"]
    assert first[id_col] == records["person0@acme0.com"]["id"]
    assert first[status_col] == "created" and first[error_col] is None
    assert by_email["not-an-email"][status_col] == "failed"
    assert "email" in by_email["not-an-email"][error_col]
    assert by_email["not-an-email"][id_col] is None
    assert by_email[None][status_col] == "failed" and by_email[None][error_col] == "no email value to upsert on"


async def test_rerun_pushes_only_changed_rows(api: httpx.AsyncClient, worker: None, sandbox: SandboxServer) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(120))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    first = await space.wait((await space.start(export["id"]))["id"])
    assert first["pushed_count"] == 120
    upserts_before = (await space.upsert_statuses("hubspot")).get("200", 0)

    # One row changes; the rerun pushes it alone, as an update.
    row = next(r for r in await space.rows() if r["cells"][space.col["Email"]] == "person3@acme3.com")
    patched = await api.patch(
        space.url(f"/tables/{space.table['id']}/rows"),
        json={"rows": [{"id": row["id"], "cells": {space.col["Last"]: "Married-Name"}}]},
        headers=space.user.headers,
    )
    assert patched.status_code == 200, patched.text
    second = await space.wait((await space.start(export["id"]))["id"])
    assert second["status"] == "completed"
    assert (second["pushed_count"], second["updated_count"], second["skipped_count"]) == (1, 1, 119)
    assert (await space.upsert_statuses("hubspot")).get("200", 0) == upserts_before + 1
    records = {r["key"]: r for r in await space.crm_records("hubspot")}
    assert records["person3@acme3.com"]["properties"]["lastname"] == "Married-Name"

    # Selected rows only, with force: pushed although unchanged.
    ids = [r["id"] for r in (await space.rows())[:3]]
    forced = await space.wait((await space.start(export["id"], {"row_ids": ids, "force": True}))["id"])
    assert (forced["row_count"], forced["pushed_count"], forced["updated_count"]) == (3, 3, 3)

    # Filtered rows: the filter tree of the rows API.
    flt = {
        "conjunction": "and",
        "conditions": [{"column_id": space.col["Company"], "operator": "eq", "value": "Acme 1"}],
    }
    filtered = await space.wait((await space.start(export["id"], {"filter": flt, "force": True}))["id"])
    assert filtered["row_count"] == len([i for i in range(120) if i % 7 == 1])

    # The export list shows each export's newest run (the web app's status, progress and cancel).
    listed = (await space.get("/crm/exports")).json()["data"]
    assert [(e["id"], e["last_run"]["id"]) for e in listed] == [(export["id"], filtered["id"])]
    assert listed[0]["last_run"]["status"] == "completed"
    assert (await space.get(f"/crm/exports/{export['id']}")).json()["data"]["last_run"]["id"] == filtered["id"]


async def test_salesforce_push_reads_per_record_failures_from_a_200(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer
) -> None:
    rows = people(260)
    rows[10]["Last"] = None  # Contact needs LastName on create: REQUIRED_FIELD_MISSING in a 200
    space = await Workspace.create(api, sandbox)
    await space.add_table(rows)
    connection = await space.connect("salesforce")
    assert connection["instance_url"] == f"{sandbox.url}/salesforce"
    export = (await space.export(connection["id"], "Contact", SALESFORCE_CONTACT)).json()["data"]
    assert export["key_property"] == "Email"
    done = await space.wait((await space.start(export["id"]))["id"])
    assert done["status"] == "completed", done
    assert (done["created_count"], done["failed_count"], done["batches"]) == (259, 1, 2)  # 200 + 60

    records = await space.crm_records("salesforce")
    assert len(records) == 259 and all(r["object"] == "Contact" for r in records)
    columns = await space.columns()
    status_col, error_col = columns["Salesforce Contact status"], columns["Salesforce Contact error"]
    failed = next(r["cells"] for r in await space.rows() if r["cells"][space.col["Email"]] == "person10@acme3.com")
    assert failed[status_col] == "failed" and "REQUIRED_FIELD_MISSING" in failed[error_col]


async def test_429s_are_waited_out(api: httpx.AsyncClient, worker: None, sandbox: SandboxServer) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(400))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    # HubSpot allows 2 requests a second here; Morket sends up to 200: the rest are 429s.
    await space.sandbox_admin("PUT", "/faults", {"providers": {"hubspot": {"rate_limit_per_second": 2}}})
    done = await space.wait((await space.start(export["id"]))["id"])
    assert done["status"] == "completed", done
    assert (done["pushed_count"], done["batches"]) == (400, 4)
    statuses = await space.upsert_statuses("hubspot")
    assert statuses.get("429", 0) >= 1, statuses
    assert len(await space.crm_records("hubspot")) == 400


async def test_an_expired_token_mid_export_is_refreshed_and_persisted(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(350))
    # Each access token is good for two API requests: the third batch meets a 401 EXPIRED_AUTHENTICATION.
    await space.sandbox_admin("PUT", "/oauth", {"access_token_ttl_seconds": 1800, "access_token_max_requests": 2})
    connection = await space.connect("hubspot")
    sealed_before, hint_before = await _vault_row(sessions, space.ws, "hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    done = await space.wait((await space.start(export["id"]))["id"])
    assert done["status"] == "completed", done
    assert (done["pushed_count"], done["batches"]) == (350, 4)
    assert (await space.upsert_statuses("hubspot")).get("401", 0) >= 1
    sealed_after, hint_after = await _vault_row(sessions, space.ws, "hubspot")
    assert sealed_after != sealed_before and hint_after != hint_before  # the rotated token was stored
    listed = (await space.get("/crm/connections")).json()["data"][0]
    assert listed["refreshed_at"] > connection["refreshed_at"]


async def test_salesforce_invalid_session_mid_export_is_refreshed(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(50))
    connection = await space.connect("salesforce")
    export = (await space.export(connection["id"], "Contact", SALESFORCE_CONTACT)).json()["data"]
    await space.sandbox_admin("POST", "/oauth/expire")  # every session expires: INVALID_SESSION_ID
    done = await space.wait((await space.start(export["id"]))["id"])
    assert done["status"] == "completed", done
    assert done["created_count"] == 50
    assert (await space.upsert_statuses("salesforce")).get("401", 0) == 1


async def test_a_lost_answer_is_retried_without_creating_twice(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(60))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    # 20 of the contacts are in HubSpot before the run.
    before = [r["id"] for r in await space.rows()][:20]
    first = await space.wait((await space.start(export["id"], {"row_ids": before}))["id"])
    assert (first["status"], first["created_count"]) == ("completed", 20), first

    # HubSpot applies the batch of 60, then its answer is lost (502): the activity is retried.
    await space.sandbox_admin("PUT", "/crm", {"lose_responses": {"hubspot": 1}})
    done = await space.wait((await space.start(export["id"], {"force": True}))["id"])
    assert done["status"] == "completed", done
    statuses = await space.upsert_statuses("hubspot")
    # The authorize page (302), the token and the first run (200), the lost upsert (502) and its retry (200).
    assert statuses == {"302": 1, "200": 3, "502": 1}, statuses
    records = await space.crm_records("hubspot")
    assert len(records) == 60 and len({r["id"] for r in records}) == 60
    # The retry found all 60 by email (HubSpot says `new: false`); the 40 that the lost attempt
    # created (HubSpot's createdAt after the batch was first scheduled) are reported as created.
    assert (done["pushed_count"], done["created_count"], done["updated_count"]) == (60, 40, 20)
    columns = await space.columns()
    rows = await space.rows()
    assert {r["cells"][columns["HubSpot contacts id"]] for r in rows} == {r["id"] for r in records}
    status = {r["id"]: r["cells"][columns["HubSpot contacts status"]] for r in rows}
    assert {i for i, s in status.items() if s == "updated"} == set(before)
    assert {i for i, s in status.items() if s == "created"} == set(status) - set(before)


async def test_cancel_stops_the_run(api: httpx.AsyncClient, worker: None, sandbox: SandboxServer) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(1000))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    await space.sandbox_admin("PUT", "/faults", {"providers": {"hubspot": {"latency_ms": 300}}})
    run = await space.start(export["id"])
    await space.wait(run["id"], until=lambda r: r["batches"] >= 1)
    cancelled = await space.post(f"/crm/runs/{run['id']}/cancel", {})
    assert cancelled.status_code == 200, cancelled.text
    done = await space.wait(run["id"])
    assert done["status"] == "cancelled", done
    assert 100 <= done["pushed_count"] < 1000
    assert len(await space.crm_records("hubspot")) == done["pushed_count"]
    again = await space.post(f"/crm/runs/{run['id']}/cancel", {})
    assert again.status_code == 409


async def test_viewers_cannot_connect_or_push(api: httpx.AsyncClient, sandbox: SandboxServer) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(2))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    viewer = await register(api)
    await add_member(api, space.user, space.ws, viewer, "viewer")
    assert (await space.post("/crm/connections/start", {"crm": "hubspot"}, user=viewer)).status_code == 403
    assert (await space.post(f"/crm/exports/{export['id']}/runs", {}, user=viewer)).status_code == 403
    listed = await api.get(space.url("/crm/exports"), headers=viewer.headers)
    assert listed.status_code == 200 and [e["id"] for e in listed.json()["data"]] == [export["id"]]
    assert listed.json()["data"][0]["last_run"] is None

    # Another workspace's owner, through their own workspace: this one's ids do not exist there.
    other = await Workspace.create(api, sandbox)
    for path in (f"/crm/exports/{export['id']}", f"/crm/runs/{uuid.uuid4()}"):
        assert (await other.get(path)).status_code == 404
    assert (await other.post(f"/crm/exports/{export['id']}/runs", {})).status_code == 404
    mapping = [{"column_id": space.col["Email"], "property": "email"}]
    body = {"table_id": space.table["id"], "connection_id": connection["id"], "object_type": "contacts"}
    stolen = await other.post("/crm/exports", body | {"mapping": mapping})
    assert stolen.status_code == 404, stolen.text
    foreign = await api.delete(other.url(f"/crm/connections/{connection['id']}"), headers=other.user.headers)
    assert foreign.status_code == 404
    assert len((await space.get("/crm/connections")).json()["data"]) == 1


async def test_a_run_resumes_on_a_new_worker_after_a_restart(
    api: httpx.AsyncClient,
    sandbox: SandboxServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(600))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    await space.sandbox_admin("PUT", "/faults", {"providers": {"hubspot": {"latency_ms": 200}}})
    async with build_worker(temporal_client, enrichment_settings, sessions) as first, first:
        run = await space.start(export["id"])
        await space.wait(run["id"], until=lambda r: r["batches"] >= 1)
    stopped = await space.wait(run["id"], until=lambda r: True)
    assert stopped["status"] == "running" and stopped["pushed_count"] < 600, stopped
    async with build_worker(temporal_client, enrichment_settings, sessions) as second, second:
        done = await space.wait(run["id"], timeout=120)
    assert done["status"] == "completed", done
    assert (done["pushed_count"], done["failed_count"]) == (600, 0)
    assert len(await space.crm_records("hubspot")) == 600


async def test_the_reconciler_starts_unstarted_runs_and_settles_dead_ones(
    api: httpx.AsyncClient,
    api_temporal_down: httpx.AsyncClient,
    sandbox: SandboxServer,
    enrichment_settings: Settings,
    temporal_client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(3))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    down = Workspace(api_temporal_down, sandbox, space.user, space.ws)

    # Temporal is unreachable when the run is posted: it is recorded, queued, and nothing runs it.
    unstarted = await down.start(export["id"])
    assert unstarted["status"] == "queued"
    # A young run is left alone (its workflow may be starting); an older one gets its workflow.
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions) == 0
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 1
    async with build_worker(temporal_client, enrichment_settings, sessions) as worker, worker:
        done = await space.wait(unstarted["id"])
    assert (done["status"], done["pushed_count"]) == ("completed", 3), done
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 0

    # Started (no worker, so it waits), then its workflow terminated before it settled the run.
    killed = await space.start(export["id"], {"force": True})
    async with sessions() as session:
        workflow_id = (await session.get(CrmExportRun, uuid.UUID(killed["id"]))).workflow_id  # type: ignore[union-attr]
    await temporal_client.get_workflow_handle(workflow_id).terminate(reason="operator")
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 1
    failed = (await space.get(f"/crm/runs/{killed['id']}")).json()["data"]
    assert failed["status"] == "failed" and "terminated" in failed["error"], failed
    assert (failed["failed_count"], failed["pushed_count"]) == (3, 0)

    # Never started, then cancelled: no workflow will ever settle it, the reconciler does.
    cancelled = await down.start(export["id"], {"force": True})
    assert (await space.post(f"/crm/runs/{cancelled['id']}/cancel", {})).status_code == 200
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 1
    settled = (await space.get(f"/crm/runs/{cancelled['id']}")).json()["data"]
    assert settled["status"] == "cancelled" and settled["finished_at"] and settled["error"] is None
    assert len(await space.crm_records("hubspot")) == 3  # only the first run pushed
    assert await reconcile_crm_runs(temporal_client, enrichment_settings, sessions, older_than=timedelta(0)) == 0
