from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket import __version__
from morket.analytics.ingest import consumer_lag

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
