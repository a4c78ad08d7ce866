from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket import __version__
from morket.analytics.ingest import consumer_lag
from morket.core.errors import ServiceUnavailable

router = APIRouter(prefix="/api/v1", tags=["health"])


class AnalyticsLag(BaseModel):
    """The analytics consumer: age of the oldest outbox event it has not handled, and what waits."""

    lag_seconds: float
    pending_events: int
    dead_letters: int


class Health(BaseModel):
    status: str
    version: str
    database: str
    analytics: AnalyticsLag | None = None


@router.get("/health", response_model=None)
async def health(request: Request) -> JSONResponse:
    """Liveness and dependency status; 503 when the database is unreachable."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        database = "unavailable"
    healthy = database == "ok"
    analytics = None
    if healthy:
        try:
            lag = await consumer_lag(request.app.state.sessions)
            analytics = AnalyticsLag(
                lag_seconds=round(lag.seconds, 3), pending_events=lag.pending_events, dead_letters=lag.dead_letters
            )
        except Exception:  # noqa: BLE001 - lag is informative; never fail the health check on it
            analytics = None
    body = Health(status="ok" if healthy else "degraded", version=__version__, database=database, analytics=analytics)
    return JSONResponse(
        {
            "success": healthy,
            "data": body.model_dump(),
            "error": None
            if healthy
            else {"code": "unhealthy", "message": "The database is unavailable.", "details": None},
            "meta": None,
        },
        status_code=200 if healthy else 503,
    )


_METRICS = (
    ("morket_analytics_consumer_lag_seconds", "Age of the oldest outbox event the analytics consumer has not handled."),
    ("morket_analytics_pending_events", "Outbox events after the analytics consumer's position (up to 100,000)."),
    ("morket_analytics_dead_letters", "Analytics events that could not be inserted into ClickHouse."),
)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        503: {
            "description": "The database is unavailable",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        },
    },
)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text: the analytics consumer's lag, what waits, and the dead letters (alert on lag)."""
    try:
        lag = await consumer_lag(request.app.state.sessions)
    except Exception as exc:  # the database is unreachable: no figures rather than wrong ones
        raise ServiceUnavailable("The database is unavailable.", code="unhealthy") from exc
    values = (round(lag.seconds, 3), lag.pending_events, lag.dead_letters)
    lines = []
    for (name, help_text), value in zip(_METRICS, values, strict=True):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
