from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class DataTable(Base):
    """A user's table. Its rows live in a physical table `tabledata.t_<id hex>` (see docs/tables.md)."""

    __tablename__ = "data_tables"
    __table_args__ = (
        Index("ix_data_tables_workspace_id_created_at", "workspace_id", "created_at"),
        Index("ix_data_tables_deleted_at", "deleted_at", postgresql_where=text("deleted_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Exact row count, maintained in the transaction that inserts or deletes rows.
    row_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # issue 10: when false no column of the table auto-runs (each column keeps its own switch).
    auto_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=text("true"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    @property
    def physical_name(self) -> str:
        return physical_table_name(self.id)


def physical_table_name(table_id: uuid.UUID) -> str:
    # Generated from our own uuid, never from user text: safe to quote into DDL.
    return f"t_{table_id.hex}"
