from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, str_enum, updated_at, uuid_pk


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUDGET_REACHED = "budget_reached"  # issue 10: the run stopped at its budget

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {
    JobStatus.COMPLETED,
    JobStatus.PARTIALLY_COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
    JobStatus.BUDGET_REACHED,
}


class EnrichmentJob(Base):
    __tablename__ = "enrichment_jobs"
    __table_args__ = (Index("ix_enrichment_jobs_workspace_id_created_at", "workspace_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, 32), nullable=False, default=JobStatus.QUEUED)
    fields: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    waterfall: Mapped[dict[str, list[str]]] = mapped_column(JSONB, nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    record_count: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_count: Mapped[int] = mapped_column(Integer, nullable=False)
    completed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cancelled_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    credits_estimated: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_spent: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    workflow_id: Mapped[str] = mapped_column(String(120), nullable=False)
    # issue 10 (column runs): the table the job writes to, what it writes, and its spending cap.
    table_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=True, index=True
    )
    target: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    budget: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    budget_reached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
