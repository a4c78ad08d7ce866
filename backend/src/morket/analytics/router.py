"""`/api/v1/workspaces/{id}/analytics/...`: any member; date range (`from`, `to`) and granularity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from morket.analytics.deps import EngineDep, WindowDep
from morket.analytics.schemas import CreditReport, EnrichmentReport, JobReport, Report, ScrapingReport
from morket.analytics.service import AnalyticsService
from morket.core.deps import SessionDep
from morket.core.envelope import Envelope, ok
from morket.workspaces.deps import ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/analytics", tags=["analytics"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Analytics is unavailable (ClickHouse/chDB not reachable)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
}


@router.get("/enrichment", responses=_UNAVAILABLE)
async def enrichment_report(
    access: ViewerAccess,
    session: SessionDep,
    engine: EngineDep,
    window: WindowDep,
) -> Envelope[EnrichmentReport]:
    """Attempts, success rate, cost and cost per found value: totals, by provider, by field, over time."""
    return ok(await AnalyticsService(engine, session).enrichment(access.workspace_id, window))


@router.get("/credits", responses=_UNAVAILABLE)
async def credit_report(
    access: ViewerAccess,
    session: SessionDep,
    engine: EngineDep,
    window: WindowDep,
) -> Envelope[CreditReport]:
    """Credit usage by provider and over time, and the forecast of days until the balance reaches zero."""
    return ok(await AnalyticsService(engine, session).credits(access.workspace_id, window))


@router.get("/jobs", responses=_UNAVAILABLE)
async def job_report(
    access: ViewerAccess,
    session: SessionDep,
    engine: EngineDep,
    window: WindowDep,
) -> Envelope[JobReport]:
    """Job throughput: jobs created and finished, records processed, credits spent, duration."""
    return ok(await AnalyticsService(engine, session).jobs(access.workspace_id, window))


@router.get("/scraping", responses=_UNAVAILABLE)
async def scraping_report(
    access: ViewerAccess,
    session: SessionDep,
    engine: EngineDep,
    window: WindowDep,
) -> Envelope[ScrapingReport]:
    """Pages the scraper fetched for enrichment: success rate and latency by domain, over time."""
    return ok(await AnalyticsService(engine, session).scraping(access.workspace_id, window))


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **_UNAVAILABLE},
)
async def export_report(
    access: ViewerAccess,
    session: SessionDep,
    engine: EngineDep,
    report: Annotated[Report, Query(description="which report's series")],
    window: WindowDep,
) -> Response:
    """One report's series as CSV."""
    body = await AnalyticsService(engine, session).export_csv(report, access.workspace_id, window)
    filename = f"morket-{report}-{window.start.isoformat()}-{window.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
