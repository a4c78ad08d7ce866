"""Cancel at about half way: the rest is cancelled, the reservation released, nothing charged later."""

from __future__ import annotations

import httpx
from morket_sandbox.server import SandboxServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from morket.core.config import Settings
from morket.enrichment.activities import EnrichmentActivities
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.workflows import ChunkInput
from tests.enrichment.helpers import (
    balance,
    create_job,
    funded_workspace,
    ledger,
    people,
    wait_for_job,
    wait_for_progress,
)

WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"]}


async def test_cancel_half_way(
    api: httpx.AsyncClient,
    worker: None,
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
    temporal_client: Client,
    enrichment_settings: Settings,
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        assert (await http.put("/_admin/faults", json={"default": {"latency_ms": 150}})).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    start = await balance(api, user, ws)
    total = 1_000
    job = await create_job(
        api, user, ws, {"records": people(total, tag="cx"), "fields": list(WATERFALL), "waterfall": WATERFALL}
    )
    path = f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}"
    await wait_for_progress(api, user, ws, job["id"], 0.5, timeout=600)
    cancel = await api.post(f"{path}/cancel", headers=user.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["data"]["status"] == "cancelling"

    done = await wait_for_job(api, user, ws, job["id"], timeout=60)
    assert done["status"] == "cancelled"
    counts = done["counts"]
    assert counts["cancelled"] > 0
    assert counts["completed"] + counts["failed"] + counts["cancelled"] == total
    assert counts["pending"] == 0

    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    debits, spent = await ledger(sessions, job["id"])
    assert spent == done["credits"]["spent"]
    assert end["balance"] == start["balance"] - spent
    # Nothing is charged after the job is settled. The workflow has ended (it waits for every
    # cancelled chunk to acknowledge before it settles), and a late attempt of a chunk writes
    # nothing: it only ever writes records still pending, and the settlement left none.
    await temporal_client.get_workflow_handle(job["workflow_id"]).result()
    async with GatewayProviderAccess.create(enrichment_settings, sessions) as providers:
        late = await ActivityEnvironment().run(
            EnrichmentActivities(sessions, enrichment_settings, providers).run_chunk, ChunkInput(job["id"], 0, total)
        )
    assert late.processed == 0
    assert await ledger(sessions, job["id"]) == (debits, spent)
    again = await api.post(f"{path}/cancel", headers=user.headers)
    assert again.status_code == 409
