"""A workspace API key: a secret for programs, acting with a role and scopes chosen at creation."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, uuid_pk
from morket.models.membership import Role


class ApiKeyScope(enum.StrEnum):
    """What a key may do, on top of its role (docs/api-keys.md has the route -> scope rule)."""

    READ = "read"
    WRITE = "write"
    ENRICH = "enrich"
    BILLING = "billing"


class ApiKey(Base):
    """Only the SHA-256 of the key is stored; `prefix` (the first 11 characters) identifies it in lists."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="workspace_role", values_callable=lambda e: [m.value for m in e], create_type=False),
        nullable=False,
    )
    scopes: Mapped[list[ApiKeyScope]] = mapped_column(
        ARRAY(Enum(ApiKeyScope, name="api_key_scope", values_callable=lambda e: [m.value for m in e])),
        nullable=False,
    )
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
