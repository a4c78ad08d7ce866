"""A newcomer's first session in the browser: sign up, workspace, credential, billing, reload, log out."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, AXE

PASSWORD = "e2e-password-123"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core findings on the current page."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def look(page: Page, name: str) -> None:
    """Screenshots at desktop and phone size, and no serious accessibility problem at either."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, Any] = {}
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        found = axe_violations(page)
        if found:
            problems[label] = found
    page.set_viewport_size(DESKTOP)
    assert not problems, f"{name}: {json.dumps(problems, indent=1)}"


def nav(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", level=1, name=label)).to_be_visible()


def sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_first_session(page: Page) -> None:
    email = f"ana-{uuid.uuid4().hex[:8]}@acme.io"

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    look(page, "login")

    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name").fill("Ana Ruiz")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    look(page, "signup")
    page.get_by_role("button", name="Create account").click()

    # First run: no workspace yet.
    expect(page.get_by_role("heading", name="Create your first workspace")).to_be_visible()
    look(page, "first-workspace")
    page.get_by_label("Workspace name").fill("Acme Growth")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile(r"/w/[0-9a-f-]{36}/tables$"))
    workspace_url = page.url.rsplit("/", 1)[0]
    expect(page.get_by_text("No tables yet")).to_be_visible()
    look(page, "tables-empty")
    nav(page, "Jobs")
    expect(page.get_by_text("No enrichment jobs yet")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Acme Growth\W+switch workspace"))).to_be_visible()
    look(page, "jobs")

    # A credential: stored, listed masked, never shown in full.
    nav(page, "Credentials")
    expect(page.get_by_text("No credentials yet")).to_be_visible()
    look(page, "credentials-empty")
    page.get_by_role("button", name="Add credential").first.click()
    dialog = page.get_by_role("dialog", name="Add a credential")
    dialog.get_by_label("Provider").select_option("hunter")
    dialog.get_by_label("Name").fill("Production key")
    dialog.get_by_label("API key").fill("hk_live_4f9a8b7c6d5e9x7q")
    look(page, "credentials-add-dialog")
    dialog.get_by_role("button", name="Save credential").click()
    credentials = page.get_by_role("list", name="Credentials")
    expect(credentials.get_by_text("Hunter")).to_be_visible()
    expect(credentials.get_by_text("Production key")).to_be_visible()
    expect(credentials.get_by_text(re.compile(r"\*+9x7q"))).to_be_visible()
    assert "hk_live_4f9a8b7c6d5e9x7q" not in page.content()
    look(page, "credentials")

    # Billing: a new workspace starts at zero; credits added by the owner show in balance and ledger.
    nav(page, "Billing")
    expect(page.get_by_text("No transactions yet")).to_be_visible()
    page.get_by_role("button", name="Add credits").click()
    dialog = page.get_by_role("dialog", name="Add credits")
    dialog.get_by_label("Amount").fill("2500")
    dialog.get_by_label("Description").fill("Starter pack")
    dialog.get_by_role("button", name="Add credits").click()
    expect(page.get_by_role("status").filter(has_text="Credits added")).to_be_visible()
    expect(page.get_by_text("Available", exact=True).locator("..").get_by_text("2,500", exact=True)).to_be_visible()
    ledger = page.get_by_role("table")
    expect(ledger.get_by_text("Starter pack")).to_be_visible()
    expect(ledger.get_by_text("+2,500")).to_be_visible()
    look(page, "billing")

    for screen in ("Providers", "Webhooks", "Members"):
        nav(page, screen)
        page.wait_for_load_state("networkidle")
        look(page, screen.lower())
    expect(page.get_by_role("list", name="Members").get_by_text(email)).to_be_visible()

    # A reload keeps the session: the access token is in memory only, the refresh cookie restores it.
    nav(page, "Billing")
    page.reload()
    expect(page).to_have_url(f"{workspace_url}/billing")
    expect(page.get_by_role("heading", level=1, name="Billing")).to_be_visible()
    expect(page.get_by_role("table").get_by_text("Starter pack")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["morket_refresh"]["httpOnly"] is True
    assert cookies["morket_refresh"]["path"] == "/api/v1/auth"
    assert page.evaluate("document.cookie") == ""

    # Log out: back to sign-in, and a reload does not bring the session back.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to Morket")).to_be_visible()
    assert "morket_refresh" not in {c["name"] for c in page.context.cookies()}

    # A wrong password is an error on the form, then the right one gets back into the workspace.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, email)
    # Back where the user was when the session ended.
    expect(page).to_have_url(f"{workspace_url}/billing")
    nav(page, "Credentials")
    expect(page.get_by_role("list", name="Credentials").get_by_text("Production key")).to_be_visible()


def test_workspace_switcher_keeps_caches_apart(page: Page) -> None:
    email = f"ben-{uuid.uuid4().hex[:8]}@acme.io"
    page.goto("/signup")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_label("Workspace name").fill("First team")
    page.get_by_role("button", name="Create workspace").click()
    nav(page, "Billing")
    page.get_by_role("button", name="Add credits").click()
    page.get_by_role("dialog", name="Add credits").get_by_label("Amount").fill("700")
    page.get_by_role("dialog", name="Add credits").get_by_role("button", name="Add credits").click()
    expect(page.get_by_role("table").get_by_text("+700")).to_be_visible()
    first_url = page.url

    # Create a second workspace from the switcher: it opens with its own, empty ledger.
    page.get_by_role("button", name=re.compile(r"^First team\W+switch workspace")).click()
    page.get_by_role("button", name="New workspace").click()
    page.get_by_role("dialog", name="Create a workspace").get_by_label("Workspace name").fill("Second team")
    page.get_by_role("dialog", name="Create a workspace").get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("button", name=re.compile(r"^Second team\W+switch workspace"))).to_be_visible()
    assert page.url != first_url
    nav(page, "Billing")
    expect(page.get_by_text("No transactions yet")).to_be_visible()
    look(page, "workspace-switcher-second")

    # Switching back shows the first workspace's ledger on the same screen.
    page.get_by_role("button", name=re.compile(r"^Second team\W+switch workspace")).click()
    page.get_by_role("button", name=re.compile(r"^First team owner")).click()
    expect(page).to_have_url(first_url)
    expect(page.get_by_role("table").get_by_text("+700")).to_be_visible()


def test_analytics_page_shows_the_reports_and_the_forecast(page: Page) -> None:
    email = f"cai-{uuid.uuid4().hex[:8]}@acme.io"
    page.goto("/signup")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_label("Workspace name").fill("Numbers team")
    page.get_by_role("button", name="Create workspace").click()
    nav(page, "Billing")
    page.get_by_role("button", name="Add credits").click()
    page.get_by_role("dialog", name="Add credits").get_by_label("Amount").fill("900")
    page.get_by_role("dialog", name="Add credits").get_by_role("button", name="Add credits").click()
    expect(page.get_by_role("table").get_by_text("+900")).to_be_visible()

    # The e2e server does not drain the outbox (tests in the same process share one chDB), so the
    # page shows the empty state; the forecast comes from the PostgreSQL balance.
    nav(page, "Analytics")
    expect(page.get_by_text("No enrichment in this period")).to_be_visible()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()
    # No credit event reached the analytics store: the chart's place says so instead of an empty frame.
    expect(page.get_by_text("No credits were added or spent in this period")).to_be_visible()
    # Nothing spent yet: the balance does not run out at this pace.
    expect(page.get_by_text("Not at this pace")).to_be_visible()
    page.get_by_label("Granularity").select_option("week")
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    expect(page.get_by_role("heading", name="Scraping", exact=True)).to_be_visible()
    expect(page.get_by_text("No scraping in this period")).to_be_visible()
    # The CSV is an authenticated download (bearer token, then a Blob URL), for the range shown.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download credit analytics as CSV").click()
    assert re.fullmatch(r"morket-credits-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)
    saved = download.value.path().read_text()
    assert saved.splitlines()[0] == "bucket,type,provider,amount,transactions"
    look(page, "analytics")
