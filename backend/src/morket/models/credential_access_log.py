from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, uuid_pk


class CredentialAccessLog(Base):
    """Append-only audit of who touched which credential (a trigger refuses UPDATE and DELETE).

    No foreign keys: the trail outlives the credential and the workspace it describes.
    """

    __tablename__ = "credential_access_log"
    __table_args__ = (Index("ix_credential_access_log_workspace_id_created_at", "workspace_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    credential_id: Mapped[uuid.UUID | None] = mapped_column()
    provider: Mapped[str] = mapped_column(String(40), nullable=False)
    # service_read, created, deleted, rotated
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    # "service:<name>", "user:<uuid>" or "cli"
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    # ok, not_found
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_at()
