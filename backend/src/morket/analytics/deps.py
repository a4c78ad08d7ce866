"""The process's analytics engine as a dependency (503 when ClickHouse/chDB cannot be reached)."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from morket.analytics.engine import AnalyticsEngine, get_engine
from morket.analytics.queries import AnalyticsUnavailable
from morket.core.config import Settings

log = logging.getLogger("morket.analytics")


async def analytics_engine(request: Request) -> AnalyticsEngine:
    settings: Settings = request.app.state.settings
    try:
        engine = await anyio.to_thread.run_sync(get_engine, settings.clickhouse_url)
        await engine.ensure_schema()
    except Exception as exc:  # noqa: BLE001 - any failure to open the engine is "unavailable"
        log.warning("analytics engine unavailable: %s", exc)
        raise AnalyticsUnavailable("Analytics is unavailable right now.") from None
    return engine


EngineDep = Annotated[AnalyticsEngine, Depends(analytics_engine)]
