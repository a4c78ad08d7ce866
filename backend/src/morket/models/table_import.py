from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class ImportStatus(enum.StrEnum):
    UPLOADED = "uploaded"  # stored and previewed, waiting for a commit
    QUEUED = "queued"  # committed; the workflow is (being) started
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # nothing was written to the table; `error` says why

    @property
    def is_final(self) -> bool:
        return self in (ImportStatus.COMPLETED, ImportStatus.FAILED)


class TableImport(Base):
    """One uploaded file and what became of it (docs/tables-io.md)."""

    __tablename__ = "table_imports"
    __table_args__ = (
        Index("ix_table_imports_workspace_id_created_at", "workspace_id", "created_at"),
        Index("ix_table_imports_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    status: Mapped[ImportStatus] = mapped_column(String(16), nullable=False, default=ImportStatus.UPLOADED)
    # The read options (detected or overridden) and the preview shown to the user.
    preview: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # The commit: target, column mapping, upsert key, dedupe rule.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    table_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_tables.id", ondelete="SET NULL"), nullable=True)
    # The last source line whose batch is committed: a resumed run skips up to here.
    resume_line: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows_read: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows_inserted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows_updated: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows_merged: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class TableImportChunk(Base):
    """The uploaded file in order, a chunk per row, so any worker process can read it back."""

    __tablename__ = "table_import_chunks"

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("table_imports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class TableImportReject(Base):
    """A source row the import did not take, with its line number and why; downloadable."""

    __tablename__ = "table_import_rejects"

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("table_imports.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
