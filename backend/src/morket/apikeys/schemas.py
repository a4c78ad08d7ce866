"""Request and response shapes of the API-key routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from morket.models import ApiKeyScope, Role

MAX_RATE_LIMIT_PER_MINUTE = 100_000


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role = Field(default=Role.VIEWER, description="viewer or member; never above the creator's role")
    scopes: list[ApiKeyScope] = Field(
        default_factory=lambda: [ApiKeyScope.READ],
        max_length=4,
        description="read, write, enrich, billing; default read only (billing is never implied)",
    )
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=MAX_RATE_LIMIT_PER_MINUTE, description="default: API_KEY_RATE_LIMIT_PER_MINUTE"
    )

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        if "\x00" in value:
            raise ValueError("name must not contain NUL")
        return value

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[ApiKeyScope]) -> list[ApiKeyScope]:
        return sorted(set(value), key=list(ApiKeyScope).index)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it; the rest is never shown again")
    role: Role
    scopes: list[ApiKeyScope]
    rate_limit_per_minute: int
    created_by: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None = Field(description="recorded at most once a minute")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key; shown once, only its SHA-256 is kept")


class ApiKeySelf(BaseModel):
    """What the presented key is: a client learns its workspace from it."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    prefix: str
    role: Role = Field(description="the key's role, capped by its creator's current role")
    scopes: list[ApiKeyScope]
    rate_limit_per_minute: int
