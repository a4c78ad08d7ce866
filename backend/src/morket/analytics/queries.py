"""Every ClickHouse query of the analytics API. Each one is scoped by `workspace_id = {ws:UUID}`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from morket.analytics.engine import AnalyticsEngine
from morket.core.errors import ServiceUnavailable

Granularity = Literal["day", "week", "month"]
_BUCKET = {"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}
_TS_BUCKET = {"day": "toDate(ts)", "week": "toMonday(ts)", "month": "toStartOfMonth(ts)"}
_TS_RANGE = "workspace_id = {ws:UUID} AND toDate(ts) >= {start:Date} AND toDate(ts) <= {end:Date}"


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
        """(bucket, provider, field, attempts, found, cached, failed, cost, latency_ms): the totals
        (bucket, provider and field NULL), by provider, by field, by bucket and provider, by bucket
        and field. One pass of grouping sets in ClickHouse: summing the (bucket, provider, field)
        rows five ways in Python was most of the report's time (docs/analytics.md)."""
        return await self._query(
            f"SELECT {_BUCKET[granularity]} AS bucket, provider, field, sum(attempts), sum(found), sum(cached), "
            "sum(failed), sum(cost), sum(latency_ms) FROM enrichment_daily "
            "WHERE workspace_id = {ws:UUID} AND day >= {start:Date} AND day <= {end:Date} "
            "GROUP BY GROUPING SETS ((), (provider), (field), (bucket, provider), (bucket, field)) "
            "SETTINGS group_by_use_nulls = 1",
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

    async def job_queue(
        self, workspace_id: uuid.UUID, start: date, end: date, granularity: Granularity
    ) -> list[tuple[Any, ...]]:
        """(bucket, jobs started, queue_ms) per bucket, from the "running" facts (few: one per job)."""
        return await self._query(
            f"SELECT {_TS_BUCKET[granularity]} AS bucket, count(), sum(queue_ms) FROM jobs FINAL "
            f"WHERE {_TS_RANGE} AND status = 'running' GROUP BY bucket ORDER BY bucket",
            self._params(workspace_id, start, end),
        )

    async def scraping(
        self, workspace_id: uuid.UUID, start: date, end: date, granularity: Granularity
    ) -> list[tuple[Any, ...]]:
        """(bucket, domain, tasks, succeeded, no_data, refused, failed, browser, latency_ms) per bucket."""
        return await self._query(
            f"SELECT {_BUCKET[granularity]} AS bucket, domain, sum(tasks), sum(succeeded), sum(no_data), "
            "sum(refused), sum(failed), sum(browser), sum(latency_ms) FROM scrape_daily "
            "WHERE workspace_id = {ws:UUID} AND day >= {start:Date} AND day <= {end:Date} "
            "GROUP BY bucket, domain ORDER BY bucket, domain",
            self._params(workspace_id, start, end),
        )

    async def scrape_latency(self, workspace_id: uuid.UUID, start: date, end: date) -> list[tuple[Any, ...]]:
        """(domain, p50 latency, p95 latency) over the range: quantiles need the facts, not the sums."""
        return await self._query(
            "SELECT domain, quantileExact(0.5)(latency_ms), quantileExact(0.95)(latency_ms) FROM scrape_tasks FINAL "
            f"WHERE {_TS_RANGE} GROUP BY domain ORDER BY domain",
            self._params(workspace_id, start, end),
        )
