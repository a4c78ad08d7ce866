"""Sandbox with 30% errors and 10% 429s: the job finishes, the breaker opens and recovers, the
waterfall falls through, and no failed call is charged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.providers.breaker import BreakerConfig, BreakerState, InMemoryCircuitBreaker, Permit
from morket.providers.gateway import ProviderGateway
from morket.worker import build_worker
from tests.enrichment.helpers import all_records, balance, create_job, funded_workspace, ledger, people, wait_for_job

WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}


class RecordingBreaker(InMemoryCircuitBreaker):
    """A real breaker (short cooldown, so the test sees it recover) that remembers its states."""

    def __init__(self, slug: str, states: dict[str, list[str]]) -> None:
        super().__init__(BreakerConfig(cooldown=1.0, probe_timeout=5.0))
        self.trail = states.setdefault(slug, [])

    async def record(self, permit: Permit, *, failure: bool) -> None:
        await super().record(permit, failure=failure)
        state = (await self.snapshot()).state.value
        if not self.trail or self.trail[-1] != state:
            self.trail.append(state)


@pytest.fixture
async def faulty_worker(
    enrichment_settings: Settings, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[dict[str, list[str]]]:
    states: dict[str, list[str]] = {}
    gateway = ProviderGateway(
        enrichment_settings,
        sessions,
        breaker_factory=lambda slug: RecordingBreaker(slug, states),
    )
    async with (
        gateway,
        build_worker(temporal_client, enrichment_settings, sessions, GatewayProviderAccess(gateway)) as w,
        w,
    ):
        yield states


async def test_faults_fall_through_and_cost_nothing(
    api: httpx.AsyncClient,
    faulty_worker: dict[str, list[str]],
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        faults = {"default": {"error_rate": 0.3, "rate_429": 0.1, "seed": 7}}
        assert (await http.put("/_admin/faults", json=faults)).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    start = await balance(api, user, ws)
    total = 200
    job = await create_job(
        api, user, ws, {"records": people(total, tag="flt"), "fields": list(WATERFALL), "waterfall": WATERFALL}
    )
    done = await wait_for_job(api, user, ws, job["id"], timeout=120)
    assert done["status"] in ("completed", "partially_completed"), done
    assert done["counts"]["completed"] + done["counts"]["failed"] == total
    assert done["counts"]["completed"] > total // 2, done["counts"]

    # The breaker opened under the errors and closed again once probes went through.
    assert any(
        BreakerState.OPEN.value in trail
        and trail.index(BreakerState.OPEN.value) < len(trail) - 1
        and BreakerState.CLOSED.value in trail[trail.index(BreakerState.OPEN.value) :]
        for trail in faulty_worker.values()
    ), faulty_worker

    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        stats: dict[str, Any] = (await http.get("/_admin/stats")).json()
    assert "429" in str(stats), stats

    async with sessions() as session:
        charged_failures = (
            await session.execute(
                text(
                    "SELECT count(*) FROM enrichment_attempts WHERE job_id = :j AND outcome <> 'success' AND cost > 0"
                ),
                {"j": job["id"]},
            )
        ).scalar_one()
        outcomes = dict(
            (
                await session.execute(
                    text("SELECT outcome, count(*) FROM enrichment_attempts WHERE job_id = :j GROUP BY outcome"),
                    {"j": job["id"]},
                )
            ).all()
        )
    assert charged_failures == 0
    assert outcomes.get("transient_error", 0) > 0, outcomes

    records = await all_records(api, user, ws, job["id"])
    # Apollo failed (error, 429 or open breaker) and Hunter was asked next for the same record.
    fell_through = [r for r in records if r["results"]["email"]["provider"] == "hunter"]
    assert fell_through
    debits, spent = await ledger(sessions, job["id"])
    found_cells = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    assert debits == found_cells
    assert spent == sum(r["credits_spent"] for r in records) == done["credits"]["spent"]
    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    assert end["balance"] == start["balance"] - spent
