"""Auto-run: an enrichment column with auto_run runs on new rows and on edits of its input
columns, through the worker's outbox follower (real Temporal, worker, sandbox); auto-run columns
that would trigger each other in a loop are refused."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.columns.autorun import run_auto_runs
from morket.core.config import Settings
from tests.columns.helpers import Leads, leads_table
from tests.enrichment.helpers import funded_workspace, people


@pytest.fixture
async def auto_runs(
    enrichment_settings: Settings, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_auto_runs(temporal_client, enrichment_settings, sessions, stop))
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


async def _settled(leads: Leads, column: str, ids: set[int], timeout: float = 90.0) -> dict[int, dict[str, Any]]:
    """Rows `ids` once their cell in `column` reached a final state."""
    deadline = time.monotonic() + timeout
    while True:
        rows = {r["id"]: r for r in await leads.rows() if r["id"] in ids}
        states = {r["meta"].get(column, {}).get("state") for r in rows.values()}
        if states <= {"done", "no_data", "error", "kept"}:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"cells did not settle: {states}")
        await asyncio.sleep(0.2)


async def test_auto_run_on_new_rows_and_input_edits(
    api: httpx.AsyncClient, worker: None, auto_runs: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 5, tag="auto")
    created = await leads.add_column(leads.enrichment(auto_run=True))
    assert created.status_code == 201, created.text
    email = leads.col["Work email"]
    before = {r["id"] for r in await leads.rows()}
    # Rows that existed before the column are not run by saving it.
    await asyncio.sleep(1.5)
    assert all(email not in r["meta"] for r in await leads.rows())

    new_people = people(3, offset=100, tag="auto")
    added = await api.post(
        leads.url("/rows"),
        json={
            "rows": [
                {
                    leads.col["First name"]: p["first_name"],
                    leads.col["Last name"]: p["last_name"],
                    leads.col["Domain"]: p["domain"],
                }
                for p in new_people
            ]
        },
        headers=user.headers,
    )
    assert added.status_code == 201, added.text
    new_ids = set(added.json()["data"]["ids"])
    rows = await _settled(leads, email, new_ids)
    assert any(r["cells"][email] for r in rows.values())

    # Editing an input column of an old row runs it; editing an unrelated column does not.
    old = sorted(before)
    first, second = (await leads.rows())[0], (await leads.rows())[1]
    assert first["id"] == old[0]
    for body in (
        {"rows": [{"id": old[1], "cells": {leads.col["Segment"]: "changed"}}]},
        {"rows": [{"id": old[0], "cells": {leads.col["Domain"]: "autoco-moved0.com"}}]},
    ):
        patch = await api.patch(leads.url("/rows"), json=body, headers=user.headers)
        assert patch.status_code == 200, patch.text
    await _settled(leads, email, {old[0]})
    await asyncio.sleep(1.0)
    after = {r["id"]: r for r in await leads.rows()}
    assert email not in after[second["id"]]["meta"]


async def test_auto_run_loops_are_refused(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api, credits=10)
    leads = await leads_table(api, user, ws, 0, tag="loop")
    # Column A reads Domain and writes Segment (company_domain would do; any field of the waterfall).
    a = await leads.add_column(leads.enrichment("A", auto_run=True, outputs={"company_name": leads.col["Segment"]}))
    assert a.status_code == 201, a.text
    # Column B reads Segment (as company_name) and writes Domain: B -> Domain -> A -> Segment -> B.
    body = leads.enrichment(
        "B",
        field="email",
        auto_run=True,
        inputs={
            "first_name": leads.col["First name"],
            "last_name": leads.col["Last name"],
            "company_name": leads.col["Segment"],
        },
        outputs={"company_domain": leads.col["Domain"]},
    )
    response = await leads.add_column(body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["code"] == "autorun_cycle"
    body["config"]["auto_run"] = False
    assert (await leads.add_column(body)).status_code == 201
