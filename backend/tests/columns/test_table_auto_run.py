"""The per-table auto-run switch: `auto_run` on the table (default on) in its output and in
`PATCH /tables/{id}`; off, no column of the table auto-runs, whatever the column's own switch.

The auto-runner is driven by draining its outbox consumer in the test (the events are handled
when `drain` returns), so "nothing ran" is a fact read from the database, not a wait."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.columns.autorun import CONSUMER, AutoRunner
from morket.core.config import Settings
from morket.models import EnrichmentJob, EnrichmentRecord
from morket.outbox.consumer import OutboxConsumer
from tests.columns.helpers import Leads, leads_table
from tests.enrichment.helpers import funded_workspace, people
from tests.factories import add_member, create_workspace, register


async def _drain(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[EnrichmentJob]:
    """Handle every outbox event not yet seen by the auto-runner; the jobs it created."""
    runner = AutoRunner(settings)
    await OutboxConsumer(CONSUMER, None, sessions, session_handler=runner.handle).drain()
    return [job for started in runner.queued for job in started.jobs]


async def _add_people(leads: Leads, n: int, offset: int) -> list[int]:
    rows = [
        {
            leads.col["First name"]: p["first_name"],
            leads.col["Last name"]: p["last_name"],
            leads.col["Domain"]: p["domain"],
        }
        for p in people(n, offset=offset, tag="tswitch")
    ]
    added = await leads.client.post(leads.url("/rows"), json={"rows": rows}, headers=leads.user.headers)
    assert added.status_code == 201, added.text
    ids: list[int] = added.json()["data"]["ids"]
    return ids


async def _record_rows(sessions: async_sessionmaker[AsyncSession], job: EnrichmentJob) -> list[int]:
    async with sessions() as session:
        rows = await session.scalars(
            select(EnrichmentRecord.row_id).where(EnrichmentRecord.job_id == job.id).order_by(EnrichmentRecord.row_id)
        )
        return [r for r in rows if r is not None]


async def test_table_switch_stops_and_restarts_auto_runs(
    api: httpx.AsyncClient, enrichment_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    leads = await leads_table(api, user, ws, 0, tag="tswitch")
    assert leads.table["auto_run"] is True  # the default
    assert (await leads.add_column(leads.enrichment(auto_run=True))).status_code == 201
    await _drain(enrichment_settings, sessions)  # the table's and column's own events

    off = await api.patch(leads.url(), json={"auto_run": False}, headers=user.headers)
    assert off.status_code == 200, off.text
    assert off.json()["data"]["auto_run"] is False
    assert off.json()["data"]["name"] == "Leads tswitch"  # a switch is not a rename
    assert (await api.get(leads.url(), headers=user.headers)).json()["data"]["auto_run"] is False

    await _add_people(leads, 3, offset=0)
    assert await _drain(enrichment_settings, sessions) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(EnrichmentJob)) == 0
    # The column keeps its own switch.
    columns = (await api.get(leads.url(), headers=user.headers)).json()["data"]["columns"]
    column = next(c for c in columns if c["name"] == "Work email")
    assert column["config"]["auto_run"] is True

    on = await api.patch(leads.url(), json={"auto_run": True, "name": "Leads again"}, headers=user.headers)
    assert on.status_code == 200, on.text
    assert (on.json()["data"]["auto_run"], on.json()["data"]["name"]) == (True, "Leads again")
    new_ids = await _add_people(leads, 2, offset=10)
    jobs = await _drain(enrichment_settings, sessions)
    assert len(jobs) == 1
    assert await _record_rows(sessions, jobs[0]) == sorted(new_ids)


async def test_table_created_with_auto_run_off(
    api: httpx.AsyncClient, enrichment_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    created = await api.post(
        f"/api/v1/workspaces/{ws}/tables",
        json={"name": "Quiet", "auto_run": False, "columns": [{"name": "First name", "type": "text"}]},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["auto_run"] is False
    listed = await api.get(f"/api/v1/workspaces/{ws}/tables", headers=user.headers)
    assert [t["auto_run"] for t in listed.json()["data"]] == [False]


async def test_table_patch_bad_input_roles_and_tenancy(api: httpx.AsyncClient) -> None:
    owner, ws = await funded_workspace(api, credits=10)
    leads = await leads_table(api, owner, ws, 0, tag="tpatch")
    bad: list[dict[str, Any]] = [{}, {"auto_run": "maybe"}, {"auto_run": None}, {"name": ""}, {"auto_run": 2}]
    for body in bad:
        response = await api.patch(leads.url(), json=body, headers=owner.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["success"] is False
    after = (await api.get(leads.url(), headers=owner.headers)).json()["data"]
    assert (after["name"], after["auto_run"]) == ("Leads tpatch", True)

    viewer = await register(api)
    await add_member(api, owner, ws, viewer, "viewer")
    refused = await api.patch(leads.url(), json={"auto_run": False}, headers=viewer.headers)
    assert refused.status_code == 403, refused.text

    stranger = await register(api)
    other = await create_workspace(api, stranger, "Other")
    assert other["id"] != ws
    hidden = await api.patch(leads.url(), json={"auto_run": False}, headers=stranger.headers)
    assert hidden.status_code == 404, hidden.text
    foreign = await api.patch(
        f"/api/v1/workspaces/{other['id']}/tables/{leads.table['id']}",
        json={"auto_run": False},
        headers=stranger.headers,
    )
    assert foreign.status_code == 404, foreign.text
    assert (await api.get(leads.url(), headers=owner.headers)).json()["data"]["auto_run"] is True
