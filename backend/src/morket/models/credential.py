from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class Credential(Base):
    """A provider API key of one workspace, encrypted with AES-256-GCM (see morket.credentials.crypto).

    `ciphertext` holds the sealed JSON payload with the GCM tag appended; `key_hint` is the last four
    characters of the key, kept in clear so lists never need to decrypt.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        CheckConstraint("octet_length(nonce) = 12", name="nonce_is_96_bits"),
        CheckConstraint("key_version >= 1", name="key_version_positive"),
        Index("ix_credentials_workspace_id_provider", "workspace_id", "provider", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    provider: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    key_hint: Mapped[str] = mapped_column(String(4), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    nonce: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    key_version: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
