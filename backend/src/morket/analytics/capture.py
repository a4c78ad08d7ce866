"""Change capture for analytics: the outbox events other modules emit beside their changes.

One helper per domain, called in the transaction of the change (so an event exists if and only
if its change committed): enrichment attempts, credit ledger rows, job lifecycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from morket.analytics.repository import AnalyticsRepository
from morket.models import OutboxEventType
from morket.outbox.service import OutboxService

# Attempts per event: a write batch is ENRICHMENT_WRITE_BATCH records (50) x fields x providers.
ATTEMPTS_PER_EVENT = 1000


class AttemptLike(Protocol):
    @property
    def record_id(self) -> uuid.UUID: ...

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


class AnalyticsCapture:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.outbox = OutboxService(session)

    async def enrichment_attempts(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, attempts: Sequence[AttemptLike]
    ) -> None:
        """Provider, field, outcome, cost, cached and latency of each attempt (compact: 1,000 an event)."""
        for start in range(0, len(attempts), ATTEMPTS_PER_EVENT):
            chunk = attempts[start : start + ATTEMPTS_PER_EVENT]
            payload: dict[str, Any] = {
                "job_id": str(job_id),
                "attempts": [
                    {
                        "record_id": str(a.record_id),
                        "field": a.field,
                        "provider": a.provider,
                        "outcome": a.outcome,
                        "cost": a.cost,
                        "cached": a.cached,
                        "latency_ms": a.duration_ms,
                    }
                    for a in chunk
                ],
            }
            await self.outbox.emit(workspace_id, OutboxEventType.ENRICHMENT_ATTEMPTS, str(job_id), payload)

    async def ledger_rows(self, transaction_ids: Sequence[uuid.UUID]) -> None:
        """The ledger rows just flushed (seq, type, amounts, job, field, key), read back by id."""
        if transaction_ids:
            await AnalyticsRepository(self.session).capture_ledger_rows(transaction_ids)

    async def job_status(self, job: JobLike, kind: str = "enrichment") -> None:
        """A job entered a status (queued on creation, then its final status)."""
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
        }
        await self.outbox.emit(job.workspace_id, OutboxEventType.JOB_LIFECYCLE, str(job.id), payload)
