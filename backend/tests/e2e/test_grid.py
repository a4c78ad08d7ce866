"""The grid in the browser: import a CSV, edit, undo, sort, filter, export the view; a viewer cannot edit."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, Response, expect

from tests.e2e.test_app import PASSWORD, look

ROWS = 200


def write_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Name", "Email", "Company", "Employees"])
        for i in range(ROWS):
            # employees: a permutation of 1..200, so the smallest is known and unique
            out.writerow([f"Person {i:03d}", f"person{i}@example.com", f"Company {i % 17}", (i * 37) % ROWS + 1])


def sign_up(page: Page, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def column_id(page: Page, name: str) -> str:
    header = page.locator(".ag-header-cell", has=page.get_by_test_id(f"header-{name}"))
    value = header.get_attribute("col-id")
    assert value
    return value


def is_rows_patch(response: Response) -> bool:
    return response.request.method == "PATCH" and response.url.endswith("/rows")


def cell(page: Page, row: int, col: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.ag-row[row-index="{row}"] .ag-cell[col-id="{col}"]')


def test_grid_import_edit_sort_filter_export_and_viewer(page: Page, tmp_path: Path) -> None:
    owner = f"olga-{uuid.uuid4().hex[:8]}@acme.io"
    viewer = f"vic-{uuid.uuid4().hex[:8]}@acme.io"
    sign_up(page, owner)
    page.get_by_label("Workspace name").fill("Grid team")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    expect(page.get_by_text("No tables yet")).to_be_visible()

    # Import: upload, the preview with detected types, progress, open the table.
    source = tmp_path / "leads.csv"
    write_csv(source)
    page.get_by_role("button", name="Import CSV or Excel").first.click()
    page.get_by_label("File to import").set_input_files(str(source))
    wizard = page.get_by_role("dialog", name="Import a file")
    expect(wizard.get_by_label("Type of column 4")).to_have_value("number")
    expect(wizard.get_by_label("Type of column 2")).to_have_value("email")
    look(page, "import-preview")
    wizard.get_by_role("button", name="Import 4 columns").click()
    expect(wizard.get_by_text("Import finished")).to_be_visible(timeout=60_000)
    expect(wizard.get_by_test_id("import-added")).to_have_text("200")
    wizard.get_by_role("button", name="Open the table").click()

    expect(page.get_by_test_id("row-count")).to_have_text("200 rows")
    company = column_id(page, "Company")
    employees = column_id(page, "Employees")
    expect(cell(page, 0, company)).to_have_text("Company 0")
    look(page, "grid")

    # Inline edit, saved through the API (it survives a reload), then undo and redo.
    cell(page, 0, company).dblclick()
    editor = page.locator(".ag-cell-inline-editing input")
    editor.fill("Zeta Corp")
    editor.press("Enter")
    expect(cell(page, 0, company)).to_have_text("Zeta Corp")
    undo = page.get_by_role("button", name="Undo (Ctrl+Z)")
    expect(undo).to_be_enabled()
    cell(page, 1, company).click()
    # Each of undo and redo is one PATCH of the rows; wait for the server's answer before the
    # reload, so the reload reads what was written (and a 409 would fail here, not later).
    with page.expect_response(is_rows_patch) as undone:
        page.keyboard.press("Control+z")
    assert undone.value.ok, undone.value.text()
    expect(cell(page, 0, company)).to_have_text("Company 0")
    with page.expect_response(is_rows_patch) as redone:
        page.keyboard.press("Control+Shift+z")
    assert redone.value.ok, redone.value.text()
    expect(cell(page, 0, company)).to_have_text("Zeta Corp")
    page.reload()
    expect(cell(page, 0, company)).to_have_text("Zeta Corp")

    # Sort from the header: the smallest head count first, then the largest.
    page.get_by_test_id("header-Employees").get_by_role("button", name="Employees", exact=True).click()
    expect(cell(page, 0, employees)).to_have_text("1")
    page.get_by_role("button", name="Column menu: Employees").click()
    page.get_by_role("menuitem", name="Sort descending").click()
    expect(cell(page, 0, employees)).to_have_text("200")

    # Filter from the column menu: the rows API's filter tree, and the count follows.
    page.get_by_role("button", name="Column menu: Company").click()
    page.get_by_role("menuitem", name="Filter…").click()
    page.locator(".ag-filter input.ag-input-field-input[type=text]").first.fill("zeta")
    page.locator(".ag-filter").get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("row-count")).to_have_text("1 row")
    expect(cell(page, 0, company)).to_have_text("Zeta Corp")

    # Export the view: the CSV holds exactly the filtered row.
    page.get_by_role("button", name="Export", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Name", "Email", "Company", "Employees"]
    assert rows[1:] == [["Person 000", "person0@example.com", "Zeta Corp", "1"]]

    # The cell drawer: value and history of the edited cell.
    cell(page, 0, company).click()
    page.get_by_role("button", name="Details").click()
    drawer = page.get_by_test_id("cell-drawer")
    expect(drawer.get_by_test_id("cell-history")).to_contain_text("Zeta Corp")
    look(page, "grid-cell-drawer")
    drawer.get_by_role("button", name="Close cell details").click()
    table_url = page.url

    # Invite a viewer; they accept the link and see the grid, read-only.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.get_by_role("button", name="Invite", exact=True).click()
    dialog = page.get_by_role("dialog", name="Invite someone")
    dialog.get_by_label("Email").fill(viewer)
    dialog.get_by_label("Role").select_option("viewer")
    dialog.get_by_role("button", name="Create invitation").click()
    link = page.get_by_test_id("invite-link").inner_text()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("list", name="Invitations")).to_contain_text(viewer)
    look(page, "members-invitations")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in to Morket")).to_be_visible()

    sign_up(page, viewer)
    expect(page.get_by_role("heading", name="Create your first workspace")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    page.goto(table_url)
    expect(page.get_by_text("View only")).to_be_visible()
    expect(page.get_by_test_id("row-count")).to_have_text("200 rows")
    expect(page.get_by_role("button", name="Column", exact=True)).to_have_count(0)
    target = cell(page, 0, column_id(page, "Company"))
    expect(target).to_have_text("Zeta Corp")
    target.dblclick()
    expect(page.locator(".ag-cell-inline-editing")).to_have_count(0)
    expect(page.get_by_test_id("cell-drawer")).to_be_visible()
    look(page, "grid-viewer")
