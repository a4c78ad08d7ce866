"""Every ClickHouse query of the analytics API. Each one is scoped by `workspace_id = {ws:UUID}`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from morket.analytics.engine import AnalyticsEngine
from morket.core.errors import ServiceUnavailable

Granularity = Literal["day", "week", "month"]
_BUCKET = {"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}


class AnalyticsUnavailable(ServiceUnavailable):
    code = "analytics_unavailable"


class AnalyticsQueries:
    def __init__(self, engine: AnalyticsEngine) -> None:
        self.engine = engine

    async def _query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return await self.engine.query(sql, params)
        except Exception as exc:
            raise AnalyticsUnavailable("Analytics is unavailable right now.") from exc

    @staticmethod
    def _params(workspace_id: uuid.UUID, start: date, end: date) -> dict[str, Any]:
        return {"ws": workspace_id, "start": start, "end": end}

    async def enrichment(
        self, workspace_id: uuid.UUID, start: date, end: date, granularity: Granularity
    ) -> list[tuple[Any, ...]]:
        """(bucket, provider, field, attempts, found, cached, failed, cost, latency_ms) per bucket."""
        return await self._query(
            f"SELECT {_BUCKET[granularity]} AS bucket, provider, field, sum(attempts), sum(found), sum(cached), "
            "sum(failed), sum(cost), sum(latency_ms) FROM enrichment_daily "
            "WHERE workspace_id = {ws:UUID} AND day >= {start:Date} AND day <= {end:Date} "
            "GROUP BY bucket, provider, field ORDER BY bucket, provider, field",
            self._params(workspace_id, start, end),
        )

    async def credits(
        self, workspace_id: uuid.UUID, start: date, end: date, granularity: Granularity
    ) -> list[tuple[Any, ...]]:
        """(bucket, type, provider, amount, transactions) per bucket."""
        return await self._query(
            f"SELECT {_BUCKET[granularity]} AS bucket, type, provider, sum(amount), sum(transactions) "
            "FROM credit_daily WHERE workspace_id = {ws:UUID} AND day >= {start:Date} AND day <= {end:Date} "
            "GROUP BY bucket, type, provider ORDER BY bucket, type, provider",
            self._params(workspace_id, start, end),
        )

    async def jobs(
        self, workspace_id: uuid.UUID, start: date, end: date, granularity: Granularity
    ) -> list[tuple[Any, ...]]:
        """(bucket, status, jobs, records, completed, failed, credits_spent, duration_ms) per bucket."""
        return await self._query(
            f"SELECT {_BUCKET[granularity]} AS bucket, status, sum(jobs), sum(records), sum(completed), "
            "sum(failed), sum(credits_spent), sum(duration_ms) FROM jobs_daily "
            "WHERE workspace_id = {ws:UUID} AND day >= {start:Date} AND day <= {end:Date} "
            "GROUP BY bucket, status ORDER BY bucket, status",
            self._params(workspace_id, start, end),
        )
