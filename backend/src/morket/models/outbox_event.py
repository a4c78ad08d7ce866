from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from morket.core.db import Base
from morket.models._common import created_at


class Xid8(UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "xid8"


class OutboxEventType(enum.StrEnum):
    """The event catalogue (docs/outbox.md)."""

    TABLE_CREATED = "table.created"
    TABLE_UPDATED = "table.updated"
    TABLE_DELETED = "table.deleted"
    TABLE_RESTORED = "table.restored"
    COLUMN_CREATED = "column.created"
    COLUMN_UPDATED = "column.updated"
    COLUMN_DELETED = "column.deleted"
    ROWS_CREATED = "rows.created"
    ROWS_UPDATED = "rows.updated"
    ROWS_DELETED = "rows.deleted"
    CELL_UPDATED = "cell.updated"
    JOB_PROGRESS = "job.progress"
    # Analytics facts (docs/analytics.md): written beside the change they describe.
    ENRICHMENT_ATTEMPTS = "enrichment.attempts"
    CREDIT_TRANSACTIONS = "credit.transactions"
    JOB_LIFECYCLE = "job.lifecycle"
    SCRAPE_TASKS = "scrape.tasks"
    CRM_EXPORT_RUN = "crm_export.run"  # issue 15 item 1: an export run started or finished


class OutboxEvent(Base):
    """An append-only stream of changes, written in the transaction that makes the change."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_xid_id", "xid", "id"),
        Index("ix_outbox_events_table_id_xid_id", "table_id", "xid", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    table_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    event_type: Mapped[OutboxEventType] = mapped_column(
        Enum(OutboxEventType, native_enum=False, length=64, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    aggregate_id: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The writing transaction: readers only pass events whose transactions have all finished.
    xid: Mapped[int] = mapped_column(Xid8(), nullable=False, server_default=text("pg_current_xact_id()"))
    created_at: Mapped[datetime] = created_at()


class OutboxConsumer(Base):
    """A named reader's position in the outbox: the (xid, id) of the last event it handled."""

    __tablename__ = "outbox_consumers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position_xid: Mapped[int] = mapped_column(Xid8(), nullable=False, server_default=text("'0'::xid8"))
    position_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
