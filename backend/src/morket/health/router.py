from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket import __version__

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


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
    body = Health(status="ok" if healthy else "degraded", version=__version__, database=database)
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
