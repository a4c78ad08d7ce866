"""Change capture for analytics: the outbox events other modules emit beside their changes.

One helper per domain, called in the transaction of the change (so an event exists if and only
if its change committed): enrichment attempts, the scrapes among them, credit ledger rows, job
lifecycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from morket.analytics.repository import AnalyticsRepository
from morket.models import OutboxEventType
from morket.outbox.service import OutboxService

# Attempts per event: a write batch is ENRICHMENT_WRITE_BATCH records (50) x fields x providers.
ATTEMPTS_PER_EVENT = 1000
SCRAPER = "scraper"


class AttemptLike(Protocol):
    """`enrichment.result.Attempt`, read as analytics needs it; paired with its record's id."""

    @property
    def field(self) -> str: ...

    @property
    def provider(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def cost(self) -> int: ...

    @property
    def cached(self) -> bool: ...

    @property
    def duration_ms(self) -> int: ...


class ScrapeAttemptLike(AttemptLike, Protocol):
    @property
    def raw(self) -> Any: ...


class JobLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def workspace_id(self) -> uuid.UUID: ...

    @property
    def status(self) -> str: ...

    @property
    def record_count(self) -> int: ...

    @property
    def completed_count(self) -> int: ...

    @property
    def failed_count(self) -> int: ...

    @property
    def cancelled_count(self) -> int: ...

    @property
    def credits_spent(self) -> int: ...

    @property
    def started_at(self) -> datetime | None: ...

    @property
    def finished_at(self) -> datetime | None: ...


def scrape_of(raw: Any, outcome: str) -> tuple[str, str, str | None]:
    """(domain, scraper outcome, fetched with) of a scraper attempt, from what the adapter kept.

    The adapter keeps the scraper's result (`url`, `final_url`, `outcome`, `fetched_with`) or, when
    the page took too long, the task envelope; a call that never got an answer has neither.
    """
    result: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(result.get("data"), dict):
        task = result["data"]
        result = task["result"] if isinstance(task.get("result"), dict) else task
    domain = ""
    for key in ("url", "final_url"):
        url = result.get(key)
        if isinstance(url, str):
            try:
                host = urlsplit(url).hostname
            except ValueError:
                host = None
            if host:
                domain = host.removeprefix("www.")
                break
    said = result.get("outcome")
    if said not in ("success", "no_data", "refused", "blocked", "error"):
        said = {"success": "success", "no_match": "no_data"}.get(outcome, "error")
    fetched = result.get("fetched_with")
    return domain, str(said), fetched if isinstance(fetched, str) else None


class AnalyticsCapture:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.outbox = OutboxService(session)

    async def enrichment_attempts(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, attempts: Sequence[tuple[uuid.UUID, AttemptLike]]
    ) -> None:
        """Provider, field, outcome, cost, cached and latency of each attempt (compact: 1,000 an event)."""
        for start in range(0, len(attempts), ATTEMPTS_PER_EVENT):
            chunk = attempts[start : start + ATTEMPTS_PER_EVENT]
            payload: dict[str, Any] = {
                "job_id": str(job_id),
                "attempts": [
                    {
                        "record_id": str(record_id),
                        "field": a.field,
                        "provider": a.provider,
                        "outcome": a.outcome,
                        "cost": a.cost,
                        "cached": a.cached,
                        "latency_ms": a.duration_ms,
                    }
                    for record_id, a in chunk
                ],
            }
            await self.outbox.emit(workspace_id, OutboxEventType.ENRICHMENT_ATTEMPTS, str(job_id), payload)

    async def scrape_tasks(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, attempts: Sequence[tuple[uuid.UUID, ScrapeAttemptLike]]
    ) -> None:
        """The pages the scraper fetched for this write batch (its attempts not answered from the
        cache): domain, the scraper's outcome, HTTP or browser, latency."""
        scrapes = [(record_id, a) for record_id, a in attempts if a.provider == SCRAPER and not a.cached]
        for start in range(0, len(scrapes), ATTEMPTS_PER_EVENT):
            tasks = []
            for record_id, a in scrapes[start : start + ATTEMPTS_PER_EVENT]:
                domain, outcome, fetched_with = scrape_of(a.raw, a.outcome)
                tasks.append(
                    {
                        "record_id": str(record_id),
                        "field": a.field,
                        "domain": domain,
                        "outcome": outcome,
                        "fetched_with": fetched_with,
                        "latency_ms": a.duration_ms,
                    }
                )
            payload = {"job_id": str(job_id), "tasks": tasks}
            await self.outbox.emit(workspace_id, OutboxEventType.SCRAPE_TASKS, str(job_id), payload)

    async def ledger_rows(self, transaction_ids: Sequence[uuid.UUID]) -> None:
        """The ledger rows just flushed (seq, type, amounts, job, field, key), read back by id."""
        if transaction_ids:
            await AnalyticsRepository(self.session).capture_ledger_rows(transaction_ids)

    async def job_status(self, job: JobLike, kind: str = "enrichment", created_at: datetime | None = None) -> None:
        """A job entered a status: queued on creation, running when its workflow began, then its
        final status. `kind`: "enrichment" for an API job, "column_run" for a table column's run;
        `created_at` (on "running") gives the time the job waited in the queue."""
        payload = {
            "job_id": str(job.id),
            "kind": kind,
            "status": job.status,
            "record_count": job.record_count,
            "completed": job.completed_count or 0,
            "failed": job.failed_count or 0,
            "cancelled": job.cancelled_count or 0,
            "credits_spent": job.credits_spent or 0,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "created_at": created_at.isoformat() if created_at else None,
        }
        await self.outbox.emit(job.workspace_id, OutboxEventType.JOB_LIFECYCLE, str(job.id), payload)
