"""CRM export (issue 15 item 1, docs/crm.md): connections, OAuth states, exports, runs, rows."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, str_enum, updated_at, uuid_pk


class CrmKind(enum.StrEnum):
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


class CrmRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


FINAL_CRM_RUN_STATUSES = frozenset({CrmRunStatus.COMPLETED, CrmRunStatus.CANCELLED, CrmRunStatus.FAILED})


class CrmRowState(enum.StrEnum):
    QUEUED = "queued"
    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"
    SKIPPED = "skipped"  # its mapped values are those the CRM already has from an earlier push
    CANCELLED = "cancelled"


class CrmOAuthState(Base):
    """A started connect: the `state` parameter's SHA-256, bound to the workspace and the user;
    used once, within its expiry."""

    __tablename__ = "crm_oauth_states"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    crm: Mapped[CrmKind] = mapped_column(str_enum(CrmKind, 20), nullable=False)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at()


class CrmConnection(Base):
    """A workspace's connection to one CRM; its tokens live in the credential vault."""

    __tablename__ = "crm_connections"
    __table_args__ = (UniqueConstraint("workspace_id", "crm"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    crm: Mapped[CrmKind] = mapped_column(str_enum(CrmKind, 20), nullable=False)
    credential_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credentials.id", ondelete="SET NULL"))
    instance_url: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CrmExport(Base):
    """A table's export target: the CRM object, the column -> property mapping, the upsert key,
    and the result columns it writes back."""

    __tablename__ = "crm_exports"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=False)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_connections.id", ondelete="CASCADE"), nullable=False
    )
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    key_property: Mapped[str] = mapped_column(String(100), nullable=False)
    mapping: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    id_column_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status_column_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    error_column_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CrmExportRun(Base):
    """One push of an export's rows; its rows are `crm_export_rows` (the workflow's queue)."""

    __tablename__ = "crm_export_runs"
    __table_args__ = (
        Index("ix_crm_export_runs_workspace_id_created_at", "workspace_id", "created_at"),
        # The reconciler's sweep of open runs (crm/reconciler.py, docs/runs.md).
        Index(
            "ix_crm_export_runs_open_created_at",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_exports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[CrmRunStatus] = mapped_column(str_enum(CrmRunStatus, 20), nullable=False)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pushed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    batches: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # push rows whose mapped values did not change since their last push too
    force: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CrmExportRow(Base):
    """A row of a run and its outcome; the queued ones are what the run has left to push."""

    __tablename__ = "crm_export_rows"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_export_runs.id", ondelete="CASCADE"), primary_key=True)
    row_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[CrmRowState] = mapped_column(str_enum(CrmRowState, 20), nullable=False)


class CrmExportRecord(Base):
    """What the CRM holds for a row of an export: its id and the hash of the mapped values last
    pushed, so a rerun pushes only the rows whose values changed."""

    __tablename__ = "crm_export_records"

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_exports.id", ondelete="CASCADE"), primary_key=True)
    row_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_id: Mapped[str] = mapped_column(String(100), nullable=False)
    pushed_at: Mapped[datetime] = created_at()
