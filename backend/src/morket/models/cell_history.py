from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at


class CellSource(enum.StrEnum):
    """Who wrote a cell value."""

    USER = "user"
    BULK = "bulk"
    IMPORT = "import"
    INBOUND = "inbound"
    DEDUPE = "dedupe"
    ENRICHMENT = "enrichment"
    FORMULA = "formula"
    AI = "ai"
    HTTP = "http"  # issue 10 item 8: an HTTP API column
    CRM = "crm"  # issue 15 item 1: a CRM export's result columns
    TYPE_CHANGE = "type_change"


class CellHistory(Base):
    """One row per cell change: who, when, old and new value, and what wrote it."""

    __tablename__ = "cell_history"
    __table_args__ = (Index("ix_cell_history_table_id_row_id_column_id", "table_id", "row_id", "column_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=False)
    row_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    column_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    old_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    source: Mapped[CellSource] = mapped_column(
        Enum(CellSource, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]), nullable=False
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = created_at()
