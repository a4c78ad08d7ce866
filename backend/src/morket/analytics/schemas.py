"""Request and response schemas of the analytics API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

Granularity = Literal["day", "week", "month"]
Report = Literal["enrichment", "credits", "jobs", "scraping"]


class DateRange(BaseModel):
    start: date
    end: date
    granularity: Granularity


class EnrichmentStats(BaseModel):
    attempts: int
    found: int
    cached: int
    failed: int
    cost: int
    success_rate: float | None
    cost_per_found: float | None
    avg_latency_ms: float | None


class EnrichmentBreakdown(EnrichmentStats):
    key: str


class EnrichmentPoint(EnrichmentStats):
    bucket: date
    key: str


class EnrichmentReport(BaseModel):
    range: DateRange
    totals: EnrichmentStats
    by_provider: list[EnrichmentBreakdown]
    by_field: list[EnrichmentBreakdown]
    series_by_provider: list[EnrichmentPoint]
    series_by_field: list[EnrichmentPoint]


class CreditTotals(BaseModel):
    spent: int
    refunded: int
    net_spent: int
    purchased: int
    auto_recharged: int
    adjusted: int
    debits: int


class ProviderSpend(BaseModel):
    provider: str
    spent: int
    refunded: int
    net_spent: int
    debits: int


class CreditPoint(BaseModel):
    bucket: date
    net_spent: int
    added: int


class CreditForecast(BaseModel):
    balance: int
    available: int
    trailing_days: int
    daily_usage: float
    days_to_zero: float | None
    zero_date: date | None
    auto_recharge_enabled: bool
    auto_recharge_threshold: int
    auto_recharge_date: date | None


class CreditReport(BaseModel):
    range: DateRange
    totals: CreditTotals
    by_provider: list[ProviderSpend]
    series: list[CreditPoint]
    forecast: CreditForecast


class JobStats(BaseModel):
    created: int
    started: int
    finished: int
    completed: int
    partially_completed: int
    failed: int
    cancelled: int
    records: int
    records_completed: int
    records_failed: int
    credits_spent: int
    avg_duration_ms: float | None
    avg_queue_ms: float | None
    records_per_second: float | None


class JobPoint(JobStats):
    bucket: date


class JobReport(BaseModel):
    range: DateRange
    totals: JobStats
    series: list[JobPoint]


class ScrapeStats(BaseModel):
    tasks: int
    succeeded: int
    no_data: int
    refused: int
    failed: int
    browser: int
    success_rate: float | None
    avg_latency_ms: float | None


class ScrapeDomain(ScrapeStats):
    domain: str
    p50_latency_ms: float | None
    p95_latency_ms: float | None


class ScrapePoint(ScrapeStats):
    bucket: date


class ScrapingReport(BaseModel):
    range: DateRange
    totals: ScrapeStats
    by_domain: list[ScrapeDomain]
    series: list[ScrapePoint]
