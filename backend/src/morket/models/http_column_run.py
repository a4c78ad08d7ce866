from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class HttpRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


FINAL_HTTP_RUN_STATUSES = frozenset({HttpRunStatus.COMPLETED, HttpRunStatus.CANCELLED, HttpRunStatus.FAILED})


class HttpColumnRun(Base):
    """A run of an HTTP API column over rows (issue 10 item 8, docs/columns.md).

    Its rows are the cells whose state names this run (`_meta[column].run_id`, state `queued`):
    the workflow's chunks take them in row id order and write each chunk's cells in one
    transaction, so a chunk retried after a crash asks only for the rows not yet written.
    """

    __tablename__ = "http_column_runs"
    __table_args__ = (
        Index("ix_http_column_runs_workspace_id_created_at", "workspace_id", "created_at"),
        # The reconciler's sweep of open runs (columns/http_reconciler.py).
        Index(
            "ix_http_column_runs_open_created_at",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=False)
    column_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[HttpRunStatus] = mapped_column(
        Enum(HttpRunStatus, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=HttpRunStatus.QUEUED,
    )
    row_count: Mapped[int] = mapped_column(Integer, nullable=False)
    done_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    no_data_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
