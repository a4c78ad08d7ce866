"""Column runs in the browser beyond the first run (issue 11): a computed column's settings edited
from its menu, a run on the rows selected in the bulk bar, a run the server refuses with 402
(the dialog says why), a run cancelled from the runs panel, and a settings change refused (409)
while a run is active. Setup goes through the API; what a user does goes through the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from playwright.sync_api import Page, expect

from tests.e2e.test_app import PASSWORD, look
from tests.e2e.test_grid import cell, sign_up

ROWS = 40
LATENCY_MS = 3000  # every sandbox call of the slow runs: a run of >16 rows lasts two rounds of it


@pytest.fixture
def slow_sandbox(e2e_sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=e2e_sandbox.url, timeout=10) as http:
        yield http
        assert http.post("/_admin/reset").status_code == 200


class Api:
    def __init__(self, base_url: str, email: str, workspace_id: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        login = self.http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        self.headers = {"Authorization": f"Bearer {login.json()['data']['tokens']['access_token']}"}
        self.ws = f"/api/v1/workspaces/{workspace_id}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.ws}{path}", headers=self.headers, **kwargs)
        assert response.status_code == expect, response.text
        return response.json()["data"]


def test_settings_bulk_run_402_cancel_and_409(page: Page, base_url: str, slow_sandbox: httpx.Client) -> None:
    owner = f"rita-{uuid.uuid4().hex[:8]}@acme.io"
    sign_up(page, owner)
    page.get_by_label("Workspace name").fill("Runs team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    api = Api(base_url, owner, page.url.split("/w/")[1].split("/")[0])

    columns = [{"name": n, "type": "text"} for n in ("First name", "Last name", "Domain")]
    table = api.call("POST", "/tables", 201, json={"name": "Runs", "columns": columns})
    col = {c["name"]: c["id"] for c in table["columns"]}
    people = [
        {col["First name"]: f"Ada{i}", col["Last name"]: f"Lovelace{i}", col["Domain"]: f"runco{i}.com"}
        for i in range(ROWS)
    ]
    api.call("POST", f"/tables/{table['id']}/rows", 201, json={"rows": people})
    inputs = {"first_name": col["First name"], "last_name": col["Last name"], "domain": col["Domain"]}
    enrichment = {"field": "email", "waterfall": ["apollo", "hunter"], "inputs": inputs}
    email = api.call(
        "POST",
        f"/tables/{table['id']}/columns",
        201,
        json={"name": "Work email", "type": "email", "kind": "enrichment", "config": enrichment},
    )["id"]
    page.goto(f"{page.url}/{table['id']}")
    expect(page.get_by_test_id("row-count")).to_have_text(f"{ROWS} rows")

    # The settings from the column menu: the add-column form, filled in; Hunter taken out.
    page.get_by_role("button", name="Column menu: Work email").click()
    page.get_by_role("menuitem", name="Enrichment settings…").click()
    settings = page.get_by_role("dialog", name="“Work email” settings")
    waterfall = settings.get_by_test_id("waterfall")
    expect(waterfall.get_by_role("listitem")).to_have_count(2)
    settings.get_by_role("button", name="Remove Hunter").click()
    look(page, "column-settings-enrichment")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith(email)) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.status == 200, saved.value.text()
    assert saved.value.json()["data"]["config"]["waterfall"] == ["apollo"]
    assert saved.value.json()["data"]["config"]["inputs"] == inputs
    expect(settings).to_be_hidden()

    # Credits for one run over every row and a quarter more.
    runs = f"/tables/{table['id']}/runs"
    worst = api.call("POST", f"{runs}/preview", json={"column_ids": [email]})["worst_case"]
    assert worst > 0
    api.call("POST", "/billing/credits", 201, json={"amount": worst * 5 // 4, "description": "e2e"})

    # The bulk bar: three rows selected, the column run on them only.
    for row in range(3):
        cell(page, row, "ag-Grid-SelectionColumn").locator('input[type="checkbox"]').check()
    bar = page.get_by_role("region", name="Selected rows")
    bar.get_by_role("button", name="Run column on 3 rows").click()
    run = page.get_by_role("dialog", name="Run “Work email”")
    expect(run.get_by_role("radio", name=re.compile("^Selected rows"))).to_be_checked()
    expect(run.get_by_test_id("preview-rows")).to_have_text("3")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as started:
        run.get_by_role("button", name="Run on 3 rows").click()
    assert started.value.status == 201, started.value.text()
    assert len(started.value.request.post_data_json["row_ids"]) == 3
    panel = page.get_by_test_id("runs-panel")
    expect(panel.get_by_test_id("run").first).to_have_attribute("data-status", "completed", timeout=60_000)
    for row in range(3):
        expect(cell(page, row, email).get_by_test_id("computed-cell")).to_have_attribute(
            "data-state", re.compile("done|no_data")
        )
    expect(cell(page, 3, email).get_by_test_id("computed-cell")).to_have_attribute("data-state", "")
    rows = api.call("GET", f"/tables/{table['id']}/rows", params={"limit": 1000})
    assert sum(1 for r in rows if (r["meta"] or {}).get(email)) == 3
    bar.get_by_role("button", name="Clear selection").click()

    # A 402: the preview fitted the balance, then another run reserved credits before "Run".
    assert slow_sandbox.put("/_admin/faults", json={"default": {"latency_ms": LATENCY_MS}}).status_code == 200
    page.get_by_role("button", name="Column menu: Work email").click()
    page.get_by_role("menuitem", name="Run column…").click()
    run = page.get_by_role("dialog", name="Run “Work email”")
    # Fill-empty: every row without a value (the three run rows that found nothing run again).
    found = sum(1 for r in rows if r["cells"].get(email))
    expect(run.get_by_test_id("preview-rows")).to_have_text(str(ROWS - found))
    empty = [r["id"] for r in rows if not (r["meta"] or {}).get(email)]
    other = api.call("POST", runs, 201, json={"column_ids": [email], "row_ids": empty[: ROWS // 2]})
    other_job = other["runs"][0]["job"]["id"]
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as refused:
        run.get_by_role("button", name=f"Run on {ROWS - found} rows").click()
    assert refused.value.status == 402, refused.value.text()
    expect(run.get_by_test_id("run-error")).to_contain_text("Not enough credits")
    expect(run.get_by_test_id("run-error")).to_contain_text("available")
    look(page, "run-refused-402")
    run.get_by_role("button", name="Cancel").click()
    api.call("POST", f"/enrichment-jobs/{other_job}/cancel")

    # A run cancelled from the runs panel; while it is active its settings cannot change (409).
    api.call("POST", "/billing/credits", 201, json={"amount": worst, "description": "e2e"})
    page.get_by_role("button", name="Column menu: Work email").click()
    page.get_by_role("menuitem", name="Run column…").click()
    run = page.get_by_role("dialog", name="Run “Work email”")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as started:
        run.get_by_role("button", name=re.compile(r"^Run on \d+ rows$")).click()
    assert started.value.status == 201, started.value.text()
    job_id = started.value.json()["data"]["runs"][0]["job"]["id"]
    active = panel.locator('[data-testid="run"]:has-text("Work email")').filter(
        has=page.get_by_role("button", name="Cancel")
    )
    expect(active).to_have_count(1)
    page.get_by_role("button", name="Column menu: Work email").click()
    page.get_by_role("menuitem", name="Enrichment settings…").click()
    settings = page.get_by_role("dialog", name="“Work email” settings")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_role("alert")).to_contain_text("in progress")
    settings.get_by_role("button", name="Cancel").click()
    active.get_by_role("button", name="Cancel").click()
    expect(panel.locator('[data-testid="run"][data-status="cancelled"]')).to_have_count(1, timeout=60_000)
    look(page, "run-cancelled")
    job = api.call("GET", f"/enrichment-jobs/{job_id}")
    assert job["status"] == "cancelled" and job["counts"]["cancelled"] > 0, job
