"""Rows that arrive at a table's inbound URL run its auto-run columns, like any new rows
(real Temporal, worker, the provider sandbox)."""

from __future__ import annotations

import httpx
import pytest

from tests.columns.helpers import leads_table
from tests.columns.test_autorun import _settled, auto_runs  # noqa: F401
from tests.enrichment.helpers import funded_workspace, people


@pytest.mark.usefixtures("worker", "auto_runs")
async def test_inbound_rows_trigger_auto_run_columns(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 0, tag="inb")
    created = await leads.add_column(leads.enrichment(auto_run=True))
    assert created.status_code == 201, created.text
    opened = await api.post(leads.url("/inbound"), json={}, headers=user.headers)
    assert opened.status_code == 201, opened.text
    path = opened.json()["data"]["path"]

    body = [
        {"First name": p["first_name"], "Last name": p["last_name"], "Domain": p["domain"]}
        for p in people(3, offset=200, tag="inb")
    ]
    received = await api.post(path, json=body)
    assert received.status_code == 201, received.text
    ids = set(received.json()["data"]["row_ids"])
    assert len(ids) == 3
    rows = await _settled(leads, leads.col["Work email"], ids)
    assert any(r["cells"][leads.col["Work email"]] for r in rows.values())
