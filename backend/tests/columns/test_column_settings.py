"""A computed column's settings change after it was made (the web app's column menu, "… settings"):
the config is validated as when the column was added, and refused with 409 while a run of the
column is in progress (a run reads the settings it started with); renaming stays allowed."""

from __future__ import annotations

import httpx
from morket_sandbox.server import SandboxServer

from tests.columns.helpers import leads_table
from tests.enrichment.helpers import funded_workspace, wait_for_job


async def test_settings_change_is_refused_while_a_run_is_active_and_allowed_after(
    api: httpx.AsyncClient, worker: None, sandbox: SandboxServer
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": 150}})).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    leads = await leads_table(api, user, ws, 300, tag="cfg")
    created = await leads.add_column(leads.enrichment())
    assert created.status_code == 201, created.text
    column = created.json()["data"]
    url = leads.url(f"/columns/{column['id']}")
    hunter_only = {**column["config"], "waterfall": ["hunter"]}

    run = await leads.run({"column_ids": [column["id"]]})
    job_id = run["runs"][0]["job"]["id"]
    refused = await api.patch(url, json={"config": hunter_only}, headers=user.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "column_run_active"
    retyped = await api.patch(url, json={"type": "text"}, headers=user.headers)
    assert retyped.status_code == 409, retyped.text
    # Nothing changed; a rename is not a settings change.
    renamed = await api.patch(url, json={"name": "Email found"}, headers=user.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["config"]["waterfall"] == ["apollo", "hunter"]
    assert renamed.json()["data"]["type"] == "email"

    cancel = await api.post(f"/api/v1/workspaces/{ws}/enrichment-jobs/{job_id}/cancel", headers=user.headers)
    assert cancel.status_code == 200, cancel.text
    assert (await wait_for_job(api, user, ws, job_id, timeout=60))["status"] == "cancelled"

    saved = await api.patch(url, json={"config": hunter_only}, headers=user.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["config"]["waterfall"] == ["hunter"]
    # Still validated as when it was added: a provider that cannot find the field is a 422 on its path.
    bad = await api.patch(url, json={"config": {**hunter_only, "waterfall": ["nope"]}}, headers=user.headers)
    assert bad.status_code == 422, bad.text
    assert [d["field"] for d in bad.json()["error"]["details"]][:1] == ["config.waterfall"]


async def test_settings_of_each_edited_kind_round_trip(api: httpx.AsyncClient) -> None:
    """What the web app sends back (the config it read, edited) is accepted for enrichment, formula and AI."""
    user, ws = await funded_workspace(api, credits=1_000)
    leads = await leads_table(api, user, ws, 3, tag="cfg2")
    enrichment = (await leads.add_column(leads.enrichment())).json()["data"]
    only_if = {"conditions": [{"column_id": leads.col["Segment"], "operator": "is_not_empty"}]}
    edited = {
        **enrichment["config"],
        "only_if": only_if,
        "auto_run": True,
        "inputs": dict(enrichment["config"]["inputs"]),
    }
    response = await api.patch(leads.url(f"/columns/{enrichment['id']}"), json={"config": edited}, headers=user.headers)
    assert response.status_code == 200, response.text
    stored = response.json()["data"]["config"]
    assert stored["auto_run"] is True and stored["only_if"]["conditions"][0]["column_id"] == leads.col["Segment"]

    formula = await leads.add_column(
        {"name": "Who", "type": "text", "kind": "formula", "config": {"expression": "{First name}"}}
    )
    assert formula.status_code == 201, formula.text
    formula_id = formula.json()["data"]["id"]
    response = await api.patch(
        leads.url(f"/columns/{formula_id}"),
        json={"config": {"expression": 'CONCAT({First name}, " ", {Last name})'}},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    rows = await leads.rows()
    assert all(
        r["cells"][formula_id] == f"{r['cells'][leads.col['First name']]} {r['cells'][leads.col['Last name']]}"
        for r in rows
    )

    ai = await leads.add_column(
        {
            "name": "Opener",
            "type": "long_text",
            "kind": "ai",
            "config": {"prompt": "Hi {{First name}}", "model": "gpt-4o-mini"},
        }
    )
    assert ai.status_code == 201, ai.text
    config = {
        **ai.json()["data"]["config"],
        "prompt": "Hello {{First name}} at {{Domain}}",
        "output": {"type": "boolean"},
    }
    response = await api.patch(
        leads.url(f"/columns/{ai.json()['data']['id']}"),
        json={"type": "checkbox", "config": config},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "checkbox" and data["config"]["refs"] == [leads.col["First name"], leads.col["Domain"]]
