from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at


class AnalyticsDeadLetter(Base):
    """An outbox event the analytics consumer could not insert into ClickHouse (docs/analytics.md).

    The whole event is kept (the outbox may be purged before an operator replays it), with the
    last error; `morket analytics replay` inserts it again and deletes the row when it goes in.
    """

    __tablename__ = "analytics_dead_letters"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    xid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    aggregate_id: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    event_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    error: Mapped[str] = mapped_column(Text, nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
