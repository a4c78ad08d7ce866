from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, true
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at

DEFAULT_CACHE_TTL_SECONDS = 30 * 86400


class WorkspaceProviderSettings(Base):
    """How a workspace uses providers. A workspace without a row uses the defaults."""

    __tablename__ = "workspace_provider_settings"
    __table_args__ = (CheckConstraint("cache_ttl_seconds > 0", name="cache_ttl_positive"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    cache_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    cache_ttl_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=DEFAULT_CACHE_TTL_SECONDS)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
