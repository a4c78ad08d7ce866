"""Request and response shapes of inbound endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from morket.core.text import text_problem

MAX_MAPPED_FIELDS = 500


class InboundConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_MAPPED_FIELDS,
        description="payload field -> column id; without one, fields map to columns of the same name",
    )
    key_column_id: uuid.UUID | None = Field(
        default=None, description="upsert on this column: a row whose key exists updates that row"
    )
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="requests a minute; default INBOUND_RATE_LIMIT_PER_MINUTE"
    )

    @field_validator("mapping")
    @classmethod
    def _fields(cls, value: dict[str, uuid.UUID] | None) -> dict[str, uuid.UUID] | None:
        if value is None:
            return None
        for name in value:
            problem = text_problem(name)
            if not name or len(name) > 200 or problem:
                raise ValueError(f"mapping field names are 1-200 characters of text ({name[:50]!r})")
        return value


class InboundUpdate(InboundConfig):
    """Only the fields sent change; `null` clears `mapping` or `key_column_id`."""


class InboundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    table_id: uuid.UUID
    token_prefix: str = Field(description="the token's first characters; the token itself is shown once")
    mapping: dict[str, uuid.UUID] | None
    key_column_id: uuid.UUID | None
    rate_limit_per_minute: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None


class InboundCreated(InboundOut):
    token: str = Field(description="shown once; only its SHA-256 is kept")
    path: str = Field(description="POST JSON here: /api/v1/inbound/<token>")


class InboundAccepted(BaseModel):
    """Stored (committed) before this answer was sent."""

    inserted: int
    updated: int
    row_ids: list[int] = Field(description="ids of the inserted rows, in payload order")
    ignored_fields: list[str] = Field(description="payload fields that matched no column (first 50)")
