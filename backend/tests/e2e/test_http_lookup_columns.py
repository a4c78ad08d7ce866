"""HTTP and lookup columns made with the add-column form: an HTTP column against the local JSON API
the HTTP column tests use (tests/columns/api_server.py), its key from the vault, a 422 of the
server shown next to its field, a run from the header and the values in the grid; a lookup column
into another table and its values; both columns' settings reopened in the same form, filled in.
Setup goes through the API; what a user does goes through the page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.columns.api_server import ApiServer
from tests.e2e.test_app import look, nav
from tests.e2e.test_grid import cell, column_id, sign_up
from tests.e2e.test_runs import Api

DOMAINS = ["acme.com", "initech.io", "hooli.xyz", "nowhere.example"]
EMPLOYEES = {"acme.com": "100", "initech.io": "50", "hooli.xyz": "7"}  # tests/columns/api_server.py COMPANIES
SECRET = "s3cret-" + uuid.uuid4().hex


def test_http_and_lookup_columns_from_the_form(page: Page, base_url: str, e2e_api_server: ApiServer) -> None:
    owner = f"hana-{uuid.uuid4().hex[:8]}@acme.io"
    sign_up(page, owner)
    page.get_by_label("Workspace name").fill("Columns team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    api = Api(base_url, owner, page.url.split("/w/")[1].split("/")[0])
    api.call("POST", "/credentials", 201, json={"provider": "http", "name": "companies-key", "api_key": SECRET})
    leads = api.call("POST", "/tables", 201, json={"name": "Leads", "columns": [{"name": "Domain", "type": "text"}]})
    domain = leads["columns"][0]["id"]
    api.call("POST", f"/tables/{leads['id']}/rows", 201, json={"rows": [{domain: d} for d in DOMAINS]})
    companies = api.call(
        "POST",
        "/tables",
        201,
        json={"name": "Companies", "columns": [{"name": "Domain", "type": "text"}, {"name": "Size", "type": "number"}]},
    )
    their = {c["name"]: c["id"] for c in companies["columns"]}
    sizes = [{their["Domain"]: "acme.com", their["Size"]: 120}, {their["Domain"]: "hooli.xyz", their["Size"]: 9}]
    api.call("POST", f"/tables/{companies['id']}/rows", 201, json={"rows": sizes})
    page.goto(f"{page.url}/{leads['id']}")
    expect(page.get_by_test_id("row-count")).to_have_text(f"{len(DOMAINS)} rows")

    # The HTTP column: URL with a {{Column}} from the picker, a bearer key from the vault, a path.
    page.get_by_role("button", name="Column", exact=True).click()
    add = page.get_by_role("dialog", name="Add a column")
    add.get_by_role("radio", name=re.compile("^HTTP API")).click()
    add.get_by_role("textbox", name="Name", exact=True).fill("Employees")
    url = add.get_by_label("URL", exact=True)
    # A metadata address: refused by the server, its message next to the URL field.
    url.fill("http://169.254.169.254/companies/")
    add.get_by_role("group", name="Insert a column into the URL").get_by_role("button", name="Domain").click()
    expect(url).to_have_value("http://169.254.169.254/companies/{{Domain}}")
    add.get_by_label("Kind", exact=True).select_option("bearer")
    add.get_by_label("Credential", exact=True).select_option("companies-key")
    add.get_by_label("Value from the answer").fill("data.employees")
    add.get_by_label("Column type").select_option("number")
    add.get_by_role("button", name="Add column").click()
    expect(add.get_by_text("A path starts with $")).to_be_visible()  # checked before sending
    add.get_by_label("Value from the answer").fill("$.data.employees")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/columns")) as refused:
        add.get_by_role("button", name="Add column").click()
    assert refused.value.status == 422, refused.value.text()
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(add.get_by_text("the host is not a public internet address")).to_be_visible()
    look(page, "column-add-http-refused")
    url.fill(f"{e2e_api_server.url}/companies/{{{{Domain}}}}")
    look(page, "column-add-http")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/columns")) as created:
        add.get_by_role("button", name="Add column").click()
    assert created.value.status == 201, created.value.text()
    config = created.value.json()["data"]["config"]
    assert config["url"] == f"{e2e_api_server.url}/companies/{{{{Domain}}}}"
    assert config["headers"] == {"Authorization": "Bearer {{secret:companies-key}}"}
    assert config["extract"] == "$.data.employees" and config["refs"] == {"Domain": domain}
    assert SECRET not in created.value.text()
    expect(add).to_be_hidden()
    employees = column_id(page, "Employees")

    # Run it from its header: every row, free; the values arrive in the grid.
    page.get_by_role("button", name="Column menu: Employees").click()
    page.get_by_role("menuitem", name="Run column…").click()
    run = page.get_by_role("dialog", name="Run “Employees”")
    expect(run.get_by_test_id("preview-rows")).to_have_text(str(len(DOMAINS)))
    expect(run.get_by_test_id("preview-expected")).to_have_text(re.compile("^0 "))
    seen_before = len(e2e_api_server.seen)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/runs")) as started:
        run.get_by_role("button", name=f"Run on {len(DOMAINS)} rows").click()
    assert started.value.status == 201, started.value.text()
    assert started.value.json()["data"]["runs"][0]["kind"] == "http"
    for row, name in enumerate(DOMAINS):
        if name in EMPLOYEES:
            expect(cell(page, row, employees)).to_have_text(EMPLOYEES[name], timeout=60_000)
        else:
            state = cell(page, row, employees).get_by_test_id("computed-cell")
            expect(state).to_have_attribute("data-state", "no_data", timeout=60_000)
    look(page, "grid-http-values")
    sent = e2e_api_server.seen[seen_before:]
    assert sorted(s.path for s in sent) == sorted(f"/companies/{d}" for d in DOMAINS)
    assert {s.headers.get("authorization") for s in sent} == {f"Bearer {SECRET}"}

    # Its settings: the same form, filled from the stored config.
    page.get_by_role("button", name="Column menu: Employees").click()
    page.get_by_role("menuitem", name="HTTP API settings…").click()
    settings = page.get_by_role("dialog", name="“Employees” settings")
    expect(settings.get_by_label("URL", exact=True)).to_have_value(config["url"])
    expect(settings.get_by_label("Kind", exact=True)).to_have_value("bearer")
    expect(settings.get_by_label("Credential", exact=True)).to_have_value("companies-key")
    expect(settings.get_by_label("Value from the answer")).to_have_value("$.data.employees")
    look(page, "column-settings-http")
    settings.get_by_role("button", name="Cancel").click()

    # The lookup column: Companies' Size by Domain (the key guessed from the names).
    page.get_by_role("button", name="Column", exact=True).click()
    add = page.get_by_role("dialog", name="Add a column")
    add.get_by_role("radio", name=re.compile("^Lookup")).click()
    add.get_by_role("textbox", name="Name", exact=True).fill("Company size")
    add.get_by_label("Look in").select_option(companies["id"])
    expect(add.get_by_label("This table's column")).to_have_value(domain)
    expect(add.get_by_label("equals, in the other table")).to_have_value(their["Domain"])
    add.get_by_label("Value of").select_option(their["Size"])
    expect(add.get_by_text("This column will be number.")).to_be_visible()
    look(page, "column-add-lookup")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/columns")) as created:
        add.get_by_role("button", name="Add column").click()
    assert created.value.status == 201, created.value.text()
    made = created.value.json()["data"]
    assert made["type"] == "number"
    assert made["config"]["match"] == {"column_id": domain, "target_column_id": their["Domain"]}
    assert made["config"]["return_column_id"] == their["Size"] and made["config"]["mode"] == "first"
    expect(add).to_be_hidden()
    size = column_id(page, "Company size")
    expect(cell(page, 0, size)).to_have_text("120")
    expect(cell(page, 1, size)).to_have_text("")
    expect(cell(page, 2, size)).to_have_text("9")

    # Its settings: filled in; a list instead of the first value is saved as such.
    page.get_by_role("button", name="Column menu: Company size").click()
    page.get_by_role("menuitem", name="Lookup settings…").click()
    settings = page.get_by_role("dialog", name="“Company size” settings")
    expect(settings.get_by_label("Look in")).to_have_value(companies["id"])
    expect(settings.get_by_label("Value of")).to_have_value(their["Size"])
    look(page, "column-settings-lookup")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith(size)) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.status == 200, saved.value.text()
    assert saved.value.json()["data"]["config"]["return_column_id"] == their["Size"]
    assert "type" not in (saved.value.request.post_data_json or {})  # nothing changed: the type stays
    expect(settings).to_be_hidden()

    # The shared delete confirmation (credentials, webhooks): the vault's key goes.
    nav(page, "Credentials")
    page.get_by_role("button", name=re.compile("^Delete .* credential companies-key$")).click()
    confirm = page.get_by_role("dialog", name="Delete this credential?")
    expect(confirm).to_contain_text("companies-key")
    look(page, "credential-delete")
    confirm.get_by_role("button", name="Delete credential").click()
    expect(confirm).to_be_hidden()
    expect(page.get_by_text("Credential deleted")).to_be_visible()
    expect(page.get_by_text("No credentials yet")).to_be_visible()
    assert api.call("GET", "/credentials") == []
