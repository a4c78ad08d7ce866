"""Search in the browser: Ctrl-K typeahead (with a typo) opens the row in its table; the search
page shows facets with counts and highlighted matches, and a facet narrows the results."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.test_app import PASSWORD, look, sign_in

PEOPLE = [
    ("Jonathan Smith", "jonathan@stripe.com", "Stripe", "CFO"),
    ("Wei Chen", "wei@stripe.com", "Stripe", "Engineer"),
    ("Priya Patel", "priya@acme.io", "Acme", "VP Engineering"),
]


def seed(base_url: str, email: str) -> tuple[str, str]:
    """A user, a workspace and a table of people, through the API; returns (workspace id, table id)."""
    with httpx.Client(base_url=base_url, timeout=20) as client:
        reg = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Sam"})
        assert reg.status_code == 201, reg.text
        h = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = client.post("/api/v1/workspaces", json={"name": "Search team"}, headers=h).json()["data"]["id"]
        columns = [{"name": n, "type": t} for n, t in (("Name", "text"), ("Email", "email"), ("Company", "text"))]
        columns.append({"name": "Title", "type": "text"})
        table = client.post(f"/api/v1/workspaces/{ws}/tables", json={"name": "Leads", "columns": columns}, headers=h)
        assert table.status_code == 201, table.text
        ids = [c["id"] for c in table.json()["data"]["columns"]]
        table_id = table.json()["data"]["id"]
        rows = [dict(zip(ids, person, strict=True)) for person in PEOPLE]
        added = client.post(f"/api/v1/workspaces/{ws}/tables/{table_id}/rows", json={"rows": rows}, headers=h)
        assert added.status_code == 201, added.text
        # The API process indexes the rows from the outbox: wait for it (a deadline, no fixed sleep),
        # so the typeahead's first answer already has them.
        deadline = time.monotonic() + 20
        while (
            client.get(f"/api/v1/workspaces/{ws}/search", params={"q": "jonathan"}, headers=h).json()["data"]["total"]
            < 1
        ):
            assert time.monotonic() < deadline, "the rows were not indexed within 20 s"
            time.sleep(0.05)
        return ws, table_id


def test_quick_search_and_search_page(page: Page, base_url: str) -> None:
    email = f"sam-{uuid.uuid4().hex[:8]}@acme.io"
    workspace_id, table_id = seed(base_url, email)
    page.goto("/login")
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))

    # Ctrl-K, a typo, Enter: the row opens in its table (the cell drawer of that row). The table
    # list has loaded (an API answer later than the shell's first render, whose effect listens).
    expect(page.get_by_role("link", name="Leads").first).to_be_visible()
    page.keyboard.press("Control+k")
    box = page.get_by_role("combobox", name="Find a row")
    box.fill("jonatan")
    option = page.get_by_role("option").filter(has_text="Jonathan Smith")
    expect(option).to_be_visible()  # indexed from the outbox by the API process, seconds at most
    expect(option).to_contain_text("CFO @ Stripe")
    look(page, "quick-search")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/w/{workspace_id}/tables/{table_id}\?row=\d+$"))
    expect(page.get_by_test_id("cell-drawer")).to_contain_text("Jonathan Smith")

    # The search page: highlights, facet counts, a facet narrows the results.
    page.goto(f"/w/{workspace_id}/search?q=stripe")
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_text("2 rows")).to_be_visible()
    expect(results.locator("mark").filter(has_text="Stripe").first).to_be_visible()
    filters = page.get_by_role("complementary", name="Filters")
    title = filters.get_by_role("group", name="Title")
    expect(title.get_by_text("CFO")).to_be_visible()
    look(page, "search")
    title.get_by_label("CFO").check()
    expect(results.get_by_text("1 row", exact=True)).to_be_visible()
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link").first).to_contain_text("Jonathan Smith")
