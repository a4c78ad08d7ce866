"""Scrape tasks and the job lifecycle through the outbox into chDB, and their reports (two workspaces)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.capture import AnalyticsCapture, scrape_of
from morket.analytics.engine import AnalyticsEngine
from morket.analytics.ingest import analytics_consumer, backfill
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.enrichment.result import Attempt, RecordAttempt
from morket.enrichment.runs import JobRunService
from morket.models import EnrichmentJob
from tests.analytics.conftest import drain_all
from tests.factories import create_workspace, register


def _attempt(
    field: str, provider: str, outcome: str, cost: int, cached: bool, duration_ms: int, raw: Any
) -> RecordAttempt:
    return uuid.uuid4(), Attempt(field, provider, outcome, cost, cached, raw, None, duration_ms)


def _result(url: str, outcome: str, fetched_with: str = "http") -> dict[str, Any]:
    return {"outcome": outcome, "url": url, "final_url": url, "target_type": "company", "fetched_with": fetched_with}


def test_the_domain_and_outcome_of_a_scrape_come_from_what_the_adapter_kept() -> None:
    assert scrape_of(_result("https://www.acme.com/about", "no_data"), "no_match") == ("acme.com", "no_data", "http")
    # The page took too long: the adapter kept the task envelope.
    envelope = {"success": True, "data": {"url": "https://slow.io/", "status": "running"}}
    assert scrape_of(envelope, "transient_error") == ("slow.io", "error", None)
    # No answer at all (a network error): no domain, an error.
    assert scrape_of(None, "transient_error") == ("", "error", None)
    assert scrape_of({"url": "http://[::1"}, "success") == ("", "success", None)


async def test_scrapes_are_captured_and_reported_by_domain_per_workspace(
    client: httpx.AsyncClient, fresh_ch: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner_a, owner_b = await register(client), await register(client)
    ws_a = (await create_workspace(client, owner_a, "A"))["id"]
    ws_b = (await create_workspace(client, owner_b, "B"))["id"]
    a, b = uuid.UUID(ws_a), uuid.UUID(ws_b)
    acme, slow = "https://acme.com/", "https://slow.io/careers"
    attempts_a = [
        _attempt("company_description", "scraper", "success", 1, False, 300, _result(acme, "success")),
        _attempt("company_description", "scraper", "no_match", 0, False, 500, _result(acme, "no_data")),
        _attempt("phone", "scraper", "success", 1, False, 1300, _result(acme, "success", "browser")),
        _attempt("job_titles", "scraper", "transient_error", 0, False, 9000, _result(slow, "blocked")),
        # Answered from the cache: no page was fetched, so no scrape.
        _attempt("phone", "scraper", "success", 1, True, 0, _result(acme, "success")),
        # Another provider's attempt is not a scrape either.
        _attempt("email", "hunter", "success", 2, False, 90, None),
    ]
    attempts_b = [_attempt("phone", "scraper", "success", 1, False, 50, _result(acme, "success"))]
    async with unit_of_work(sessions) as session:
        await AnalyticsCapture(session).scrape_tasks(a, uuid.uuid4(), attempts_a)
        await AnalyticsCapture(session).scrape_tasks(b, uuid.uuid4(), attempts_b)
    async with sessions() as session:
        await AnalyticsCapture(session).scrape_tasks(a, uuid.uuid4(), attempts_a)
        await session.rollback()  # never committed: never counted
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)

    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}
    response = await client.get(f"/api/v1/workspaces/{ws_a}/analytics/scraping", params=period, headers=owner_a.headers)
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["totals"]["tasks"] == 4
    assert report["totals"]["succeeded"] == 2
    by_domain = {d["domain"]: d for d in report["by_domain"]}
    assert set(by_domain) == {"acme.com", "slow.io"}
    assert by_domain["acme.com"]["tasks"] == 3
    assert by_domain["acme.com"]["no_data"] == 1
    assert by_domain["acme.com"]["browser"] == 1
    assert by_domain["acme.com"]["success_rate"] == 2 / 3
    assert by_domain["acme.com"]["avg_latency_ms"] == (300 + 500 + 1300) / 3
    assert by_domain["acme.com"]["p50_latency_ms"] == 500
    assert by_domain["slow.io"]["failed"] == 1
    assert by_domain["slow.io"]["p95_latency_ms"] == 9000
    assert sum(point["tasks"] for point in report["series"]) == 4

    # B sees only its own scrape; a member of B gets 404 on A's report and export.
    other = (
        await client.get(f"/api/v1/workspaces/{ws_b}/analytics/scraping", params=period, headers=owner_b.headers)
    ).json()["data"]
    assert [(d["domain"], d["tasks"], d["avg_latency_ms"]) for d in other["by_domain"]] == [("acme.com", 1, 50)]
    for path in ("scraping", "export?report=scraping"):
        denied = await client.get(f"/api/v1/workspaces/{ws_a}/analytics/{path}", headers=owner_b.headers)
        assert denied.status_code == 404, path

    exported = await client.get(
        f"/api/v1/workspaces/{ws_a}/analytics/export",
        params={**period, "report": "scraping"},
        headers=owner_a.headers,
    )
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    domains = {r["domain"]: r for r in rows if r["domain"]}
    assert int(domains["acme.com"]["tasks"]) == 3
    assert sum(int(r["tasks"]) for r in rows if not r["domain"]) == 4  # the series rows


async def test_every_job_has_queued_started_and_finished_facts(
    client: httpx.AsyncClient,
    fresh_ch: AnalyticsEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    workspace = uuid.UUID(ws)
    job_id = uuid.uuid4()
    async with unit_of_work(sessions) as session:
        job = EnrichmentJob(
            id=job_id,
            workspace_id=workspace,
            status="queued",
            fields=["email"],
            waterfall={"email": ["hunter"]},
            options={},
            record_count=0,
            batch_count=0,
            workflow_id=f"test-{job_id}",
            created_at=datetime.now(UTC) - timedelta(seconds=3),
        )
        session.add(job)
        await session.flush()
        await AnalyticsCapture(session).job_status(job)
    async with unit_of_work(sessions) as session:
        await JobRunService(session, settings).begin(job_id)
    async with unit_of_work(sessions) as session:
        await JobRunService(session, settings).begin(job_id)  # a retried activity: no second start
    async with unit_of_work(sessions) as session:
        settled = await JobRunService(session, settings).settle(job_id, cancelled=False, error=None)
    assert settled.status == "completed"
    await drain_all(analytics_consumer(fresh_ch, sessions), sessions)

    facts = await fresh_ch.query(
        "SELECT status, kind, queue_ms FROM jobs FINAL WHERE job_id = {job:UUID} ORDER BY ts, event_id",
        {"job": job_id},
    )
    assert [(status, kind) for status, kind, _ in facts] == [
        ("queued", "enrichment"),
        ("running", "enrichment"),
        ("completed", "enrichment"),
    ]
    queue_ms = int(facts[1][2])
    assert 2500 <= queue_ms <= 60_000  # created 3 s before it started
    report = (await client.get(f"/api/v1/workspaces/{ws}/analytics/jobs", headers=owner.headers)).json()["data"]
    totals = report["totals"]
    assert (totals["created"], totals["started"], totals["finished"], totals["completed"]) == (1, 1, 1, 1)
    assert totals["avg_queue_ms"] == queue_ms

    # The backfill rebuilds the same three facts from the job row.
    await fresh_ch.command("TRUNCATE TABLE jobs")
    await backfill(fresh_ch, sessions)
    rebuilt = await fresh_ch.query(
        "SELECT status, queue_ms FROM jobs FINAL WHERE job_id = {job:UUID} ORDER BY ts", {"job": job_id}
    )
    assert [status for status, _ in rebuilt] == ["queued", "running", "completed"]
    assert int(rebuilt[1][1]) == queue_ms
