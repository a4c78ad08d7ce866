from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, str_enum, uuid_pk


class RecordStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class EnrichmentRecord(Base):
    """One record of a job: the link from the job to a row of its table, and the job's work queue.

    `seq` runs 0..n-1 so a chunk of work is a seq range; `status` under a row lock is what makes a
    re-run chunk skip what another attempt wrote. The record's data is its row: the input
    (an inline job; a column run keeps the provider input it computed from the row's cells), the
    values and their provenance live in the table's cells (docs/enrichment.md)."""

    __tablename__ = "enrichment_records"
    __table_args__ = (
        UniqueConstraint("job_id", "seq", name="uq_enrichment_records_job_id_seq"),
        Index("ix_enrichment_records_job_id_status", "job_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrichment_jobs.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_no: Mapped[int] = mapped_column(Integer, nullable=False)
    # A column run's provider input (computed from the row's cells when the run started); None
    # for an inline job, whose chunk reads the row itself.
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    status: Mapped[RecordStatus] = mapped_column(
        str_enum(RecordStatus, 16), nullable=False, default=RecordStatus.PENDING
    )
    credits_spent: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # issue 10: the table row of the record (None only for jobs made before inline tables).
    row_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = created_at()
