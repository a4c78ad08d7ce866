"""A table's inbound webhook: a secret URL that appends (or upserts) rows (docs/inbound.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class InboundEndpoint(Base):
    """Only the token's SHA-256 is stored. One live endpoint per table; a revoked one stays as a record."""

    __tablename__ = "inbound_endpoints"
    __table_args__ = (
        Index("uq_inbound_endpoints_live_table", "table_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    token_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    # {"payload field": "column id"}; None maps fields to columns by name.
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    key_column_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("table_columns.id", ondelete="SET NULL"))
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
