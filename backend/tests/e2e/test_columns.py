"""Computed columns in the browser (issue 11): an enrichment column (work email: Apollo then Hunter)
with an only-if condition, run after the cost preview; the cells fill over the event stream
without a reload; the cell drawer; the export; the balance against the ledger; a viewer."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.test_app import PASSWORD, look, nav
from tests.e2e.test_grid import cell, column_id, sign_up

ROWS = 200
CREDITS = 2500
FIRSTS = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "john", "radia", "ken"]
LASTS = ["lovelace", "hopper", "turing", "dijkstra", "liskov", "knuth", "allen", "backus", "perlman", "thompson"]


def write_leads(path: Path) -> None:
    """People the sandbox answers for deterministically; even rows are `smb`, odd ones `enterprise`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["First name", "Last name", "Domain", "Segment"])
        for i in range(ROWS):
            segment = "smb" if i % 2 == 0 else "enterprise"
            out.writerow([FIRSTS[i % 10].title(), f"{LASTS[(i // 10) % 10].title()}{i}", f"e2eco{i}.com", segment])


def api_get_all(client: httpx.Client, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a paginated list endpoint."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(path, params={"page": page, "limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        batch = response.json()["data"]
        out.extend(batch)
        if len(batch) < 100:
            return out
        page += 1


def test_enrichment_column_run_drawer_export_balance_viewer(page: Page, tmp_path: Path, base_url: str) -> None:
    owner = f"cora-{uuid.uuid4().hex[:8]}@acme.io"
    viewer = f"val-{uuid.uuid4().hex[:8]}@acme.io"
    sign_up(page, owner)
    page.get_by_label("Workspace name").fill("Enrich team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    workspace_id = page.url.split("/w/")[1].split("/")[0]

    nav(page, "Billing")
    page.get_by_role("button", name="Add credits").click()
    dialog = page.get_by_role("dialog", name="Add credits")
    dialog.get_by_label("Amount").fill(str(CREDITS))
    dialog.get_by_role("button", name="Add credits").click()
    expect(page.get_by_role("status").filter(has_text="Credits added")).to_be_visible()

    # A 200-row CSV through the import wizard.
    nav(page, "Tables")
    source = tmp_path / "people.csv"
    write_leads(source)
    page.get_by_role("button", name="Import CSV or Excel").first.click()
    page.get_by_label("File to import").set_input_files(str(source))
    wizard = page.get_by_role("dialog", name="Import a file")
    wizard.get_by_role("button", name="Import 4 columns").click()
    expect(wizard.get_by_text("Import finished")).to_be_visible(timeout=60_000)
    wizard.get_by_role("button", name="Open the table").click()
    expect(page.get_by_test_id("row-count")).to_have_text("200 rows")
    table_url = page.url
    table_id = table_url.rsplit("/", 1)[1]

    # The enrichment column: work email, Apollo then Hunter, inputs mapped, only for smb rows.
    page.get_by_role("button", name="Column", exact=True).click()
    add = page.get_by_role("dialog", name="Add a column")
    add.get_by_role("radio", name=re.compile("^Enrichment")).click()
    add.get_by_label("Find").select_option("email")
    expect(add.get_by_role("textbox", name="Name", exact=True)).to_have_value("Work email")
    waterfall = add.get_by_test_id("waterfall")
    expect(waterfall.get_by_role("listitem")).to_have_count(2)
    # The builder: take Hunter out, put it back (it goes last), and check the order.
    add.get_by_role("button", name="Remove Hunter").click()
    expect(waterfall.get_by_role("listitem")).to_have_count(1)
    add.get_by_label("Provider to add").select_option("hunter")
    add.get_by_role("button", name="Add", exact=True).click()
    expect(waterfall.get_by_role("listitem").nth(0)).to_contain_text("Apollo")
    expect(waterfall.get_by_role("listitem").nth(1)).to_contain_text("Hunter")
    first, last, domain, segment = (column_id(page, n) for n in ("First name", "Last name", "Domain", "Segment"))
    inputs = add.get_by_test_id("inputs")
    expect(inputs.get_by_label("First name", exact=True)).to_have_value(first)
    expect(inputs.get_by_label("Last name", exact=True)).to_have_value(last)
    expect(inputs.get_by_label("Domain", exact=True)).to_have_value(domain)
    expect(waterfall.get_by_role("listitem").nth(0)).to_contain_text("uses domain + first name + last name")
    only_if = add.get_by_test_id("only-if")
    only_if.get_by_role("button", name="Add a condition").click()
    only_if.get_by_label("Condition 1: column").select_option(segment)
    only_if.get_by_label("Condition 1: operator").select_option("eq")
    only_if.get_by_label("Condition 1: value").fill("smb")
    look(page, "column-add-enrichment")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/columns")) as created:
        add.get_by_role("button", name="Add column").click()
    assert created.value.status == 201, created.value.text()
    config = created.value.json()["data"]["config"]
    assert config["waterfall"] == ["apollo", "hunter"]
    assert config["inputs"] == {"first_name": first, "last_name": last, "domain": domain}
    assert config["only_if"]["conditions"] == [{"column_id": segment, "operator": "eq", "value": "smb"}]
    expect(add).to_be_hidden()
    email = column_id(page, "Work email")

    # The other kinds' forms (not saved): a formula's live preview, an AI column's prompt.
    page.get_by_role("button", name="Column", exact=True).click()
    add = page.get_by_role("dialog", name="Add a column")
    add.get_by_role("radio", name=re.compile("^Formula")).click()
    add.get_by_role("textbox", name="Name", exact=True).fill("Guess")
    add.get_by_role("group", name="Insert a column").get_by_role("button", name="Domain").click()
    expect(add.get_by_label("Formula", exact=True)).to_have_value("{Domain}")
    expect(add.get_by_test_id("formula-preview")).not_to_contain_text("Type a formula")
    look(page, "column-add-formula")
    add.get_by_role("radio", name=re.compile("^AI")).click()
    add.get_by_role("group", name="Insert a column into the prompt").get_by_role("button", name="Segment").click()
    expect(add.get_by_label("Prompt", exact=True)).to_have_value("{{Segment}}")
    add.get_by_role("radio", name="One of a list").click()
    look(page, "column-add-ai")
    add.get_by_role("button", name="Cancel").click()

    # Run it from the header: the cost preview first, then confirm.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Column menu: Work email").click()
    page.get_by_role("menuitem", name="Run column…").click()
    run = page.get_by_role("dialog", name="Run “Work email”")
    expect(run.get_by_test_id("preview-rows")).to_have_text("100")
    expect(run.get_by_test_id("preview-available")).to_have_text(f"{CREDITS:,} credits")
    expect(run.get_by_role("table")).to_contain_text("apollo")
    expect(run.get_by_role("table")).to_contain_text("hunter")
    look(page, "run-preview")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as started:
        run.get_by_role("button", name="Run on 100 rows").click()
    assert started.value.status == 201, started.value.text()
    job_id = started.value.json()["data"]["runs"][0]["job"]["id"]

    # The cells fill in place over the event stream: no reload, no navigation.
    panel = page.get_by_test_id("runs-panel")
    expect(panel.get_by_test_id("run")).to_have_attribute("data-status", re.compile("completed"), timeout=120_000)
    expect(cell(page, 0, email).get_by_test_id("computed-cell")).to_have_attribute(
        "data-state", re.compile("done|no_data"), timeout=30_000
    )
    expect(cell(page, 1, email)).to_have_text("")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    look(page, "grid-enrichment-done")

    # The rows through the API: only smb rows ran; found cells carry provider, cost, cached.
    with httpx.Client(base_url=base_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": owner, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['data']['tokens']['access_token']}"}
        rows = http.get(
            f"/api/v1/workspaces/{workspace_id}/tables/{table_id}/rows", params={"limit": 1000}, headers=headers
        ).json()["data"]
        ledger = api_get_all(http, f"/api/v1/workspaces/{workspace_id}/billing/transactions", headers)
    assert len(rows) == ROWS
    states = {r["id"]: (r["meta"] or {}).get(email) for r in rows}
    smb = [r for r in rows if r["cells"][segment] == "smb"]
    enterprise = [r for r in rows if r["cells"][segment] == "enterprise"]
    assert all(states[r["id"]] is None and r["cells"].get(email) is None for r in enterprise)
    assert all(states[r["id"]]["state"] in {"done", "no_data"} for r in smb)
    found = [r for r in smb if states[r["id"]]["state"] == "done"]
    assert found, "the sandbox found no email at all"
    assert all(r["cells"][email] and states[r["id"]]["provider"] in {"apollo", "hunter"} for r in found)
    paid_cells = sum(states[r["id"]]["cost"] for r in found)
    debits = [t for t in ledger if t["type"] == "debit" and t["job_id"] == job_id]
    refunds = [t for t in ledger if t["type"] == "refund" and t["job_id"] == job_id]
    spent = -sum(t["amount"] for t in debits) - sum(t["amount"] for t in refunds)
    assert spent == paid_cells > 0

    # The drawer of a found cell: value, state, provider, cost, cached, when, history.
    first_found = next(i for i, r in enumerate(sorted(rows, key=lambda r: r["id"])) if r in found)
    target = cell(page, first_found, email)
    target.scroll_into_view_if_needed()
    target.click()
    page.get_by_role("button", name="Details").click()
    drawer = page.get_by_test_id("cell-drawer")
    expect(drawer.get_by_test_id("cell-state")).to_contain_text("Found")
    expect(drawer.get_by_test_id("cell-provider")).to_have_text(re.compile("apollo|hunter"))
    expect(drawer.get_by_test_id("cell-cost")).to_have_text(re.compile(r"\d+ credits?"))
    expect(drawer.get_by_test_id("cell-history")).to_contain_text("enrichment")
    look(page, "enrichment-cell-drawer")
    drawer.get_by_role("button", name="Close cell details").click()

    # Export: the CSV has the column, the emails found, and nothing for rows the condition skipped.
    page.get_by_role("button", name="Export", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(exported) == ROWS
    by_name = {(r["First name"], r["Last name"]): r for r in exported}
    for r in rows:
        line = by_name[(r["cells"][first], r["cells"][last])]
        assert line["Work email"] == (r["cells"].get(email) or "")
    assert sum(1 for line in exported if line["Work email"]) == len(found)

    # The balance went down by exactly what the ledger says.
    nav(page, "Billing")
    balance = page.locator("p").filter(has_text=re.compile(r"^Balance$")).locator("..")
    expect(balance.get_by_text(f"{CREDITS - spent:,}", exact=True)).to_be_visible()

    # A viewer sees the grid and the computed cells, and can neither edit nor run them.
    nav(page, "Members")
    page.get_by_role("button", name="Invite", exact=True).click()
    invite = page.get_by_role("dialog", name="Invite someone")
    invite.get_by_label("Email").fill(viewer)
    invite.get_by_label("Role").select_option("viewer")
    invite.get_by_role("button", name="Create invitation").click()
    link = page.get_by_test_id("invite-link").inner_text()
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in to Morket")).to_be_visible()
    sign_up(page, viewer)
    expect(page.get_by_role("heading", name="Create your first workspace")).to_be_visible()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    page.goto(table_url)
    expect(page.get_by_text("View only")).to_be_visible()
    expect(page.get_by_role("button", name="Column", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Column menu: Work email").click()
    expect(page.get_by_role("menuitem", name="Sort ascending")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Run column…")).to_have_count(0)
    page.keyboard.press("Escape")
    target = cell(page, first_found, email)
    target.scroll_into_view_if_needed()
    expect(target).not_to_have_text("")
    target.dblclick()
    expect(page.locator(".ag-cell-inline-editing")).to_have_count(0)
    expect(page.get_by_test_id("cell-drawer").get_by_test_id("cell-state")).to_contain_text("Found")
    look(page, "enrichment-viewer")
