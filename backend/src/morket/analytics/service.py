"""Analytics reports: ClickHouse rollups shaped for the dashboard, the credit forecast, CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.analytics.engine import AnalyticsEngine
from morket.analytics.queries import AnalyticsQueries
from morket.analytics.schemas import (
    CreditForecast,
    CreditPoint,
    CreditReport,
    CreditTotals,
    DateRange,
    EnrichmentBreakdown,
    EnrichmentPoint,
    EnrichmentReport,
    EnrichmentStats,
    Granularity,
    JobPoint,
    JobReport,
    JobStats,
    ProviderSpend,
    Report,
    ScrapeDomain,
    ScrapePoint,
    ScrapeStats,
    ScrapingReport,
)
from morket.core.errors import Unprocessable
from morket.credits.service import CreditService
from morket.models.enrichment_job import JobStatus

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
TRAILING_DAYS = 14
FINAL_STATUSES = tuple(s.value for s in JobStatus if s.is_final)
_ADDED = ("purchase", "auto_recharge", "adjustment")


def date_range(start: date | None, end: date | None, granularity: Granularity) -> DateRange:
    """The requested range (inclusive), defaulting to the last 30 days; at most 366 days."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise Unprocessable("`from` must not be after `to`.", code="invalid_range", details={"from": str(start)})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise Unprocessable(
            f"A range covers at most {MAX_RANGE_DAYS} days.",
            code="invalid_range",
            details={"max_days": MAX_RANGE_DAYS},
        )
    return DateRange(start=start, end=end, granularity=granularity)


def _stats(v: list[int]) -> dict[str, Any]:
    attempts, found, cached, failed, cost, latency = v
    return {
        "attempts": attempts,
        "found": found,
        "cached": cached,
        "failed": failed,
        "cost": cost,
        "success_rate": found / attempts if attempts else None,
        "cost_per_found": cost / found if found else None,
        "avg_latency_ms": latency / attempts if attempts else None,
    }


def _add(into: list[int], values: Iterable[int]) -> None:
    for i, value in enumerate(values):
        into[i] += int(value)


class AnalyticsService:
    def __init__(self, engine: AnalyticsEngine, session: AsyncSession) -> None:
        self.queries = AnalyticsQueries(engine)
        self.session = session

    async def enrichment(self, workspace_id: uuid.UUID, window: DateRange) -> EnrichmentReport:
        rows = await self.queries.enrichment(workspace_id, window.start, window.end, window.granularity)
        total = [0] * 6
        providers: dict[str, list[int]] = {}
        fields: dict[str, list[int]] = {}
        by_provider_t: dict[tuple[date, str], list[int]] = {}
        by_field_t: dict[tuple[date, str], list[int]] = {}
        for bucket, provider, field, *values in rows:  # one row per grouping set (NULL: not grouped by)
            sums = [int(v) for v in values]
            if bucket is None and provider is None and field is None:
                total = sums
            elif bucket is None and provider is not None:
                providers[provider] = sums
            elif bucket is None:
                fields[field] = sums
            elif provider is not None:
                by_provider_t[bucket, provider] = sums
            else:
                by_field_t[bucket, field] = sums
        return EnrichmentReport(
            range=window,
            totals=EnrichmentStats(**_stats(total)),
            by_provider=[EnrichmentBreakdown(key=k, **_stats(v)) for k, v in sorted(providers.items())],
            by_field=[EnrichmentBreakdown(key=k, **_stats(v)) for k, v in sorted(fields.items())],
            series_by_provider=[
                EnrichmentPoint(bucket=b, key=k, **_stats(v)) for (b, k), v in sorted(by_provider_t.items())
            ],
            series_by_field=[EnrichmentPoint(bucket=b, key=k, **_stats(v)) for (b, k), v in sorted(by_field_t.items())],
        )

    async def credits(self, workspace_id: uuid.UUID, window: DateRange) -> CreditReport:
        rows = await self.queries.credits(workspace_id, window.start, window.end, window.granularity)
        sums: dict[str, int] = defaultdict(int)
        debits = 0
        providers: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # spent, refunded, debits
        series: dict[date, list[int]] = defaultdict(lambda: [0, 0])  # net spent, added
        for bucket, kind, provider, amount, count in rows:
            sums[kind] += int(amount)
            if kind == "debit":
                debits += int(count)
                providers[provider][0] += -int(amount)
                providers[provider][2] += int(count)
                series[bucket][0] += -int(amount)
            elif kind == "refund":
                providers[provider][1] += int(amount)
                series[bucket][0] -= int(amount)
            elif kind in _ADDED:
                series[bucket][1] += int(amount)
        spent, refunded = -sums["debit"], sums["refund"]
        return CreditReport(
            range=window,
            totals=CreditTotals(
                spent=spent,
                refunded=refunded,
                net_spent=spent - refunded,
                purchased=sums["purchase"],
                auto_recharged=sums["auto_recharge"],
                adjusted=sums["adjustment"],
                debits=debits,
            ),
            by_provider=[
                ProviderSpend(provider=p or "other", spent=s, refunded=r, net_spent=s - r, debits=n)
                for p, (s, r, n) in sorted(providers.items())
            ],
            series=[CreditPoint(bucket=b, net_spent=v[0], added=v[1]) for b, v in sorted(series.items())],
            forecast=await self.forecast(workspace_id),
        )

    async def forecast(self, workspace_id: uuid.UUID, today: date | None = None) -> CreditForecast:
        """Days until the available balance reaches zero at the trailing 14 days' net usage."""
        today = today or datetime.now(UTC).date()
        start = today - timedelta(days=TRAILING_DAYS - 1)
        rows = await self.queries.credits(workspace_id, start, today, "day")
        used = sum(-int(r[3]) for r in rows if r[1] == "debit") - sum(int(r[3]) for r in rows if r[1] == "refund")
        daily = max(0, used) / TRAILING_DAYS
        account = await CreditService(self.session).account(workspace_id)
        days_to_zero = account.available / daily if daily > 0 else None
        recharge = account.auto_recharge
        recharge_date: date | None = None
        if recharge.enabled and daily > 0:
            above = account.balance - recharge.threshold
            recharge_date = today + timedelta(days=int(above // daily)) if above >= 0 else today
        return CreditForecast(
            balance=account.balance,
            available=account.available,
            trailing_days=TRAILING_DAYS,
            daily_usage=daily,
            days_to_zero=days_to_zero,
            zero_date=today + timedelta(days=int(days_to_zero)) if days_to_zero is not None else None,
            auto_recharge_enabled=recharge.enabled,
            auto_recharge_threshold=recharge.threshold,
            auto_recharge_date=recharge_date,
        )

    async def jobs(self, workspace_id: uuid.UUID, window: DateRange) -> JobReport:
        rows = await self.queries.jobs(workspace_id, window.start, window.end, window.granularity)
        series: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        total: dict[str, float] = defaultdict(float)
        for bucket, status, jobs, records, completed, failed, spent, duration in rows:
            for target in (series[bucket], total):
                if status == "queued":
                    target["created"] += jobs
                    continue
                if status not in FINAL_STATUSES:
                    continue
                target["finished"] += jobs
                target[status] += jobs
                target["records"] += records
                target["records_completed"] += completed
                target["records_failed"] += failed
                target["credits_spent"] += spent
                target["duration"] += duration
        for bucket, started, queue_ms in await self.queries.job_queue(
            workspace_id, window.start, window.end, window.granularity
        ):
            for target in (series[bucket], total):
                target["started"] += started
                target["queue"] += queue_ms
        return JobReport(
            range=window,
            totals=JobStats(**_job_stats(total)),
            series=[JobPoint(bucket=b, **_job_stats(v)) for b, v in sorted(series.items())],
        )

    async def scraping(self, workspace_id: uuid.UUID, window: DateRange) -> ScrapingReport:
        """Pages the scraper fetched for enrichment: success and latency by domain and over time."""
        rows = await self.queries.scraping(workspace_id, window.start, window.end, window.granularity)
        total = [0] * 7
        domains: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
        series: dict[date, list[int]] = defaultdict(lambda: [0] * 7)
        for bucket, domain, *values in rows:
            for target in (total, domains[domain], series[bucket]):
                _add(target, values)
        quantiles = {
            domain: (p50, p95)
            for domain, p50, p95 in await self.queries.scrape_latency(workspace_id, window.start, window.end)
        }
        return ScrapingReport(
            range=window,
            totals=ScrapeStats(**_scrape_stats(total)),
            by_domain=sorted(
                (
                    ScrapeDomain(
                        domain=d,
                        p50_latency_ms=_float(quantiles.get(d, (None, None))[0]),
                        p95_latency_ms=_float(quantiles.get(d, (None, None))[1]),
                        **_scrape_stats(v),
                    )
                    for d, v in domains.items()
                ),
                key=lambda item: (-item.tasks, item.domain),
            ),
            series=[ScrapePoint(bucket=b, **_scrape_stats(v)) for b, v in sorted(series.items())],
        )

    async def export_csv(self, report: Report, workspace_id: uuid.UUID, window: DateRange) -> str:
        """The report's series as CSV, one row per bucket (and provider/field or status)."""
        out = io.StringIO()
        writer = csv.writer(out)
        if report == "enrichment":
            enrichment = await self.enrichment(workspace_id, window)
            keys = ["attempts", "found", "cached", "failed", "cost", "success_rate", "cost_per_found", "avg_latency_ms"]
            writer.writerow(["bucket", "dimension", "key", *keys])
            for dimension, points in (
                ("provider", enrichment.series_by_provider),
                ("field", enrichment.series_by_field),
            ):
                for point in points:
                    data = point.model_dump()
                    writer.writerow([point.bucket.isoformat(), dimension, _safe(point.key), *(data[k] for k in keys)])
        elif report == "credits":
            rows = await self.queries.credits(workspace_id, window.start, window.end, window.granularity)
            writer.writerow(["bucket", "type", "provider", "amount", "transactions"])
            for bucket, kind, provider, amount, count in rows:
                writer.writerow([bucket.isoformat(), kind, _safe(provider), amount, count])
        elif report == "scraping":
            scraping = await self.scraping(workspace_id, window)
            keys = list(ScrapeStats.model_fields)
            writer.writerow(["bucket", "domain", *keys, "p50_latency_ms", "p95_latency_ms"])
            for domain in scraping.by_domain:
                data = domain.model_dump()
                writer.writerow(
                    [
                        f"{window.start.isoformat()}..{window.end.isoformat()}",
                        _safe(domain.domain),
                        *(data[k] for k in keys),
                        domain.p50_latency_ms,
                        domain.p95_latency_ms,
                    ]
                )
            for scrape_point in scraping.series:
                data = scrape_point.model_dump()
                writer.writerow([scrape_point.bucket.isoformat(), "", *(data[k] for k in keys), "", ""])
        else:
            jobs = await self.jobs(workspace_id, window)
            keys = list(JobStats.model_fields)
            writer.writerow(["bucket", *keys])
            for job_point in jobs.series:
                values = job_point.model_dump()
                writer.writerow([job_point.bucket.isoformat(), *(values[k] for k in keys)])
        return out.getvalue()


def _job_stats(v: dict[str, float]) -> dict[str, Any]:
    finished, started = int(v["finished"]), int(v["started"])
    names = ("created", "completed", "partially_completed", "failed", "cancelled", "records")
    stats: dict[str, Any] = {name: int(v[name]) for name in names}
    processed = v["records_completed"] + v["records_failed"]
    stats.update(
        started=started,
        finished=finished,
        records_completed=int(v["records_completed"]),
        records_failed=int(v["records_failed"]),
        credits_spent=int(v["credits_spent"]),
        avg_duration_ms=v["duration"] / finished if finished else None,
        avg_queue_ms=v["queue"] / started if started else None,
        # Throughput: records processed per second that the finished jobs ran.
        records_per_second=processed * 1000 / v["duration"] if v["duration"] else None,
    )
    return stats


def _scrape_stats(v: list[int]) -> dict[str, Any]:
    tasks, succeeded, no_data, refused, failed, browser, latency = v
    return {
        "tasks": tasks,
        "succeeded": succeeded,
        "no_data": no_data,
        "refused": refused,
        "failed": failed,
        "browser": browser,
        "success_rate": succeeded / tasks if tasks else None,
        "avg_latency_ms": latency / tasks if tasks else None,
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _safe(value: str) -> str:
    """No spreadsheet formula injection through a provider or field name."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
