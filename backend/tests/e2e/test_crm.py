"""CRM export in the browser (docs/crm.md, docs/web.md): connect HubSpot through the sandbox's
OAuth (the real redirect to the sandbox and back to /crm/callback), map a small table's columns
from the table's Export menu (auto-mapped by name and type; a 409 shown in the form), run the
export, watch it finish and see the result columns filled in the grid; the CRM page lists the
connection and the export; disconnect after a confirmation."""

from __future__ import annotations

import re
import uuid

import httpx
from morket_sandbox.server import SandboxServer
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_app import look, nav
from tests.e2e.test_grid import cell, sign_up
from tests.e2e.test_runs import Api

PEOPLE = [
    ("Grace", "Hopper", "Navy", "grace-{tag}@navy.example"),
    ("Alan", "Turing", "NPL", "alan-{tag}@npl.example"),
    ("Ada", "Lovelace", "Analytical", "ada-{tag}@engine.example"),
    ("Edsger", "Dijkstra", "TH Eindhoven", ""),  # no email: the row fails, "no email value"
]


def test_connect_hubspot_export_a_table_and_see_the_results(
    page: Page, base_url: str, e2e_sandbox: SandboxServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = f"cora-{tag}@acme.io"
    sign_up(page, owner)
    page.get_by_label("Workspace name").fill("CRM team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    ws = page.url.split("/w/")[1].split("/")[0]
    api = Api(base_url, owner, ws)
    columns = [
        {"name": "First name", "type": "text"},
        {"name": "Last name", "type": "text"},
        {"name": "Company", "type": "text"},
        {"name": "Work address", "type": "email"},  # mapped to the key by its type
        {"name": "Notes", "type": "text"},
    ]
    table = api.call("POST", "/tables", 201, json={"name": "Speakers", "columns": columns})
    col = {c["name"]: c["id"] for c in table["columns"]}
    rows = [
        {
            col["First name"]: f,
            col["Last name"]: last,
            col["Company"]: co,
            col["Work address"]: e.format(tag=tag) or None,
        }
        for f, last, co, e in PEOPLE
    ]
    api.call("POST", f"/tables/{table['id']}/rows", 201, json={"rows": rows})

    # The CRM page: nothing connected; connect HubSpot through its OAuth (the sandbox approves at
    # once and redirects back to /crm/callback with code and state).
    nav(page, "CRM")
    hubspot = page.get_by_test_id("connection-hubspot")
    expect(hubspot).to_contain_text("Not connected")
    expect(page.get_by_text("No exports yet")).to_be_visible()
    look(page, "crm-empty")
    hubspot.get_by_role("button", name="Connect HubSpot").click()
    expect(page).to_have_url(re.compile(r"/crm/callback$"))  # code and state stripped once posted
    callback = page.get_by_test_id("crm-callback")
    expect(callback.get_by_role("heading", name="HubSpot connected")).to_be_visible()
    look(page, "crm-callback")
    callback.get_by_role("link", name="Back to CRM").click()
    expect(hubspot).to_contain_text("Connected")
    expect(hubspot).to_contain_text(f"connected by {owner}")
    connections = api.call("GET", "/crm/connections")
    assert [(c["crm"], c["connected"]) for c in connections] == [("hubspot", True)]

    # A number column named like a result column: the server refuses the export (409), the form says so.
    blocker = api.call(
        "POST", f"/tables/{table['id']}/columns", 201, json={"name": "HubSpot contacts id", "type": "number"}
    )

    # The table's Export menu: "Export to CRM…", the form auto-mapped by name and type.
    page.goto(f"/w/{ws}/tables/{table['id']}")
    expect(page.get_by_test_id("row-count")).to_have_text("4 rows")
    page.get_by_role("button", name="Export", exact=True).click()
    page.get_by_role("menuitem", name="Export to CRM…").click()
    dialog = page.get_by_role("dialog", name="Export to CRM")
    mapping = dialog.get_by_test_id("mapping")
    expect(mapping.get_by_role("listitem")).to_have_count(4)
    expect(dialog.get_by_label("HubSpot property for Work address")).to_have_value("email")
    expect(dialog.get_by_label("HubSpot property for First name")).to_have_value("firstname")
    expect(dialog.get_by_label("HubSpot property for Last name")).to_have_value("lastname")
    expect(dialog.get_by_label("HubSpot property for Company")).to_have_value("company")
    expect(dialog.get_by_label("Match records on")).to_have_value("email")
    look(page, "crm-export-form")

    # Checked before sending: the key property unmapped.
    dialog.get_by_label("HubSpot property for Work address").fill("work_email")
    dialog.get_by_role("button", name="Save export").click()
    expect(dialog.get_by_label("Match records on").locator("..")).to_contain_text("No column is mapped to the key")
    dialog.get_by_label("HubSpot property for Work address").fill("email")
    dialog.get_by_label("Match records on").select_option("email")

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/crm/exports")) as refused:
        dialog.get_by_role("button", name="Save export").click()
    assert refused.value.status == 409, refused.value.text()
    expect(dialog.get_by_test_id("export-error")).to_contain_text("not text")
    look(page, "crm-export-409")
    api.call("DELETE", f"/tables/{table['id']}/columns/{blocker['id']}")

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/crm/exports")) as saved:
        dialog.get_by_role("button", name="Save export").click()
    assert saved.value.status == 201, saved.value.text()
    body = saved.value.request.post_data_json
    assert body["object_type"] == "contacts" and body["key_property"] == "email"
    assert {m["property"]: m["column_id"] for m in body["mapping"]} == {
        "email": col["Work address"],
        "firstname": col["First name"],
        "lastname": col["Last name"],
        "company": col["Company"],
    }

    # The table's exports: Run now, the run to its end, the counts.
    listed = page.get_by_role("dialog", name="CRM exports of this table")
    export = listed.get_by_test_id("crm-export")
    expect(export).to_contain_text("Not run yet")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as started:
        export.get_by_role("button", name="Run now").click()
    assert started.value.status == 201, started.value.text()
    run = export.get_by_test_id("export-run")
    expect(run).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(run.get_by_test_id("run-counts")).to_contain_text("4 of 4 rows · 3 created · 0 updated")
    expect(run.get_by_test_id("run-counts")).to_contain_text("1 failed")
    look(page, "crm-table-exports")
    listed.get_by_role("button", name="Done").click()

    # The result columns in the grid, filled by the run (live, through the table's stream); a wide
    # window, so AG Grid renders all eight columns.
    created = saved.value.json()["data"]
    page.set_viewport_size({"width": 2200, "height": 900})
    for name in ("id", "status", "error"):
        expect(page.get_by_test_id(f"header-HubSpot contacts {name}")).to_be_visible()
    for row in range(3):
        expect(cell(page, row, created["status_column_id"])).to_have_text("created")
        expect(cell(page, row, created["id_column_id"])).not_to_have_text("")
    expect(cell(page, 3, created["status_column_id"])).to_have_text("failed")
    expect(cell(page, 3, created["error_column_id"])).to_contain_text("no email value")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "crm-grid-results-wide.png"))
    page.set_viewport_size({"width": 1440, "height": 900})

    # What HubSpot (the sandbox) holds: the three people, once each, with the mapped properties.
    with httpx.Client(base_url=e2e_sandbox.url, timeout=10) as sandbox:
        records = sandbox.get("/_admin/crm/records", params={"provider": "hubspot"}).json()
    ours = {r["key"]: r["properties"] for r in records if tag in str(r["key"])}
    assert set(ours) == {e.format(tag=tag) for *_, e in PEOPLE if e}
    assert ours[f"grace-{tag}@navy.example"]["lastname"] == "Hopper"
    assert ours[f"grace-{tag}@navy.example"]["company"] == "Navy"

    # The CRM page lists the export with its last run; disconnecting asks first and takes the export along.
    nav(page, "CRM")
    page_export = page.get_by_test_id("crm-export")
    expect(page_export).to_contain_text("HubSpot Contacts from Speakers")
    expect(page_export.get_by_test_id("export-run")).to_have_attribute("data-status", "completed")
    look(page, "crm-page")
    hubspot.get_by_role("button", name="Disconnect").click()
    confirm = page.get_by_role("dialog", name="Disconnect HubSpot?")
    look(page, "crm-disconnect")
    confirm.get_by_role("button", name="Disconnect").click()
    expect(hubspot).to_contain_text("Not connected")
    expect(page.get_by_text("No exports yet")).to_be_visible()
    assert api.call("GET", "/crm/connections") == []
