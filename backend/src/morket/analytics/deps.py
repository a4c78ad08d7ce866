"""Dependencies of the analytics routes: the process's engine (503 when ClickHouse/chDB cannot be
reached) and the report window every report takes (`from`, `to`, `granularity`)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Query, Request

from morket.analytics.engine import AnalyticsEngine, get_engine
from morket.analytics.queries import AnalyticsUnavailable
from morket.analytics.schemas import DateRange, Granularity
from morket.analytics.service import date_range
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


From = Annotated[date | None, Query(alias="from", description="first day (UTC), default 29 days before `to`")]
To = Annotated[date | None, Query(alias="to", description="last day (UTC, inclusive), default today")]
Grain = Annotated[Granularity, Query(description="bucket size")]


def report_window(start: From = None, end: To = None, granularity: Grain = "day") -> DateRange:
    """The report's range and buckets (422 `invalid_range` for `from` after `to` or over 366 days)."""
    return date_range(start, end, granularity)


# Declare it after the access dependency: a caller without access gets 404, not a range error.
WindowDep = Annotated[DateRange, Depends(report_window)]
