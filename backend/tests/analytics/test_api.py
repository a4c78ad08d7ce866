"""The analytics endpoints against the PostgreSQL ledger, with two workspaces' data in the same tables."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.capture import AnalyticsCapture
from morket.analytics.engine import AnalyticsEngine
from morket.analytics.ingest import analytics_consumer
from morket.core.db import unit_of_work
from morket.credits.service import CreditService, DebitRequest
from morket.enrichment.result import Attempt
from tests.analytics.conftest import drain_all
from tests.factories import add_member, create_workspace, register


@dataclass
class Job:
    id: uuid.UUID
    workspace_id: uuid.UUID
    status: str
    record_count: int
    completed_count: int = 0
    failed_count: int = 0
    cancelled_count: int = 0
    credits_spent: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


async def _spend(
    sessions: async_sessionmaker[AsyncSession], workspace: uuid.UUID, cells: list[tuple[str, str, int]]
) -> uuid.UUID:
    """A job reserving, then debiting one cell per (field, provider, price), like the enrichment engine."""
    job = uuid.uuid4()
    async with unit_of_work(sessions) as session:
        credits = CreditService(session)
        await credits.reserve(workspace, job, sum(c for _, _, c in cells), idempotency_key=f"job:{job}:reserve")
        requests = []
        for field, provider, price in cells:
            record = uuid.uuid4()
            key = f"{job}:{record}:{field}:{provider}"
            requests.append(DebitRequest(price, key, record, f"{provider} {field}", field))
        await credits.debit_many(workspace, job, requests)
        await credits.release(workspace, job)
    return job


async def _ledger_sums(sessions: async_sessionmaker[AsyncSession], workspace: uuid.UUID) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT type::text, sum(amount) FROM credit_transactions WHERE workspace_id = :ws GROUP BY type"),
            {"ws": workspace},
        )
        return {str(r[0]): int(r[1]) for r in rows}


async def test_reports_match_the_ledger_and_stay_in_their_workspace(
    client: httpx.AsyncClient, fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner_a, owner_b, viewer = await register(client), await register(client), await register(client)
    ws_a = (await create_workspace(client, owner_a, "A"))["id"]
    ws_b = (await create_workspace(client, owner_b, "B"))["id"]
    await add_member(client, owner_a, ws_a, viewer, "viewer")
    for ws, owner, amount in ((ws_a, owner_a, 1000), (ws_a, owner_a, 500), (ws_b, owner_b, 7777)):
        added = await client.post(
            f"/api/v1/workspaces/{ws}/billing/credits",
            json={"amount": amount, "description": "top-up"},
            headers=owner.headers,
        )
        assert added.status_code == 201, added.text
    a, b = uuid.UUID(ws_a), uuid.UUID(ws_b)
    job_a = await _spend(sessions, a, [("email", "hunter", 3), ("email", "hunter", 3), ("phone", "apollo", 5)])
    await _spend(sessions, b, [("email", "apollo", 40)])
    async with unit_of_work(sessions) as session:
        attempts = [
            (uuid.uuid4(), Attempt("email", "hunter", "success", 3, False, None, None, 120)),
            (uuid.uuid4(), Attempt("email", "hunter", "success", 3, False, None, None, 80)),
            (uuid.uuid4(), Attempt("email", "apollo", "no_match", 0, False, None, None, 40)),
            (uuid.uuid4(), Attempt("phone", "apollo", "success", 5, False, None, None, 60)),
        ]
        await AnalyticsCapture(session).enrichment_attempts(a, job_a, attempts)
        now = datetime.now(UTC)
        done = Job(job_a, a, "completed", 3, 3, 0, 0, 11, now - timedelta(seconds=4), now)
        await AnalyticsCapture(session).job_status(Job(job_a, a, "queued", 3))
        await AnalyticsCapture(session).job_status(done)
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)

    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    response = await client.get(f"/api/v1/workspaces/{ws_a}/analytics/credits", params=period, headers=viewer.headers)
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    ledger = await _ledger_sums(sessions, a)
    assert report["totals"]["spent"] == -ledger["debit"] == 11
    assert report["totals"]["purchased"] == ledger["purchase"] == 1500
    assert report["totals"]["debits"] == 3
    assert {p["provider"]: p["spent"] for p in report["by_provider"]} == {"hunter": 6, "apollo": 5}
    assert sum(point["net_spent"] for point in report["series"]) == 11
    forecast = report["forecast"]
    assert forecast["balance"] == 1500 - 11
    assert forecast["daily_usage"] == 11 / 14
    assert abs(forecast["days_to_zero"] - forecast["available"] / (11 / 14)) < 1e-6

    # Workspace B's report holds only B's ledger.
    other = await client.get(f"/api/v1/workspaces/{ws_b}/analytics/credits", params=period, headers=owner_b.headers)
    ledger_b = await _ledger_sums(sessions, b)
    assert other.json()["data"]["totals"]["spent"] == -ledger_b["debit"] == 40
    assert other.json()["data"]["totals"]["purchased"] == 7777
    # A member of B cannot read A's analytics (404, like any other resource of A).
    for path in ("credits", "enrichment", "jobs", "export?report=credits"):
        denied = await client.get(f"/api/v1/workspaces/{ws_a}/analytics/{path}", headers=owner_b.headers)
        assert denied.status_code == 404, path

    enrichment = await client.get(
        f"/api/v1/workspaces/{ws_a}/analytics/enrichment", params=period, headers=viewer.headers
    )
    data = enrichment.json()["data"]
    assert data["totals"]["attempts"] == 4
    assert data["totals"]["found"] == 3
    assert data["totals"]["cost"] == 11
    by_provider = {p["key"]: p for p in data["by_provider"]}
    assert by_provider["hunter"]["success_rate"] == 1.0
    assert by_provider["hunter"]["cost_per_found"] == 3.0
    assert by_provider["apollo"]["success_rate"] == 0.5
    assert {f["key"]: f["cost_per_found"] for f in data["by_field"]} == {"email": 3.0, "phone": 5.0}
    empty = await client.get(f"/api/v1/workspaces/{ws_b}/analytics/enrichment", headers=owner_b.headers)
    assert empty.json()["data"]["totals"]["attempts"] == 0

    jobs = (await client.get(f"/api/v1/workspaces/{ws_a}/analytics/jobs", headers=viewer.headers)).json()["data"]
    assert jobs["totals"]["created"] == 1
    assert jobs["totals"]["finished"] == 1
    assert jobs["totals"]["records_completed"] == 3
    assert jobs["totals"]["avg_duration_ms"] == 4000

    exported = await client.get(
        f"/api/v1/workspaces/{ws_a}/analytics/export",
        params={**period, "report": "credits", "granularity": "week"},
        headers=viewer.headers,
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(int(r["amount"]) for r in rows if r["type"] == "debit") == ledger["debit"]


async def test_bad_ranges_are_422(client: httpx.AsyncClient, fresh_ch: AnalyticsEngine) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    base = f"/api/v1/workspaces/{ws}/analytics"
    for params in (
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {"granularity": "hour"},
        {"from": "yesterday"},
    ):
        response = await client.get(f"{base}/credits", params=params, headers=owner.headers)
        assert response.status_code == 422, params
        assert response.json()["success"] is False
    missing = await client.get(f"{base}/export", headers=owner.headers)
    assert missing.status_code == 422


async def test_health_reports_the_consumer_lag(
    client: httpx.AsyncClient, fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    for amount in (5, 6):
        added = await client.post(
            f"/api/v1/workspaces/{ws}/billing/credits",
            json={"amount": amount, "description": "x"},
            headers=owner.headers,
        )
        assert added.status_code == 201
    before = (await client.get("/api/v1/health")).json()["data"]["analytics"]
    assert before["pending_events"] >= 2
    assert before["lag_seconds"] >= 0
    metrics = await client.get("/api/v1/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    gauges = dict(line.split(" ") for line in metrics.text.splitlines() if not line.startswith("#"))
    assert int(gauges["morket_analytics_pending_events"]) >= 2
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)
    after = (await client.get("/api/v1/health")).json()["data"]["analytics"]
    assert after == {"lag_seconds": 0.0, "pending_events": 0, "dead_letters": 0}
    gauges = dict(line.split(" ") for line in (await client.get("/api/v1/metrics")).text.splitlines() if line[0] != "#")
    assert gauges == {
        "morket_analytics_consumer_lag_seconds": "0.0",
        "morket_analytics_pending_events": "0",
        "morket_analytics_dead_letters": "0",
    }
