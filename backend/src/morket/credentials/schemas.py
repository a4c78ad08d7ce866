"""Credential vault schemas. The plaintext key only ever appears in `CredentialCreate` (input) and
`ServiceCredentialOut` (the internal read for other services)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from morket.core.text import json_problem, text_problem

# The provider slugs a credential may be stored for. The provider registry replaces this set
# once it exists; validation reads it at call time, so rebinding it here is enough.
# "scraper": a workspace's own proxies for the scraper service (extra {"proxies": [...]}).
# "http": secrets that HTTP API columns reference by name, `{{secret:<name>}}` (docs/columns.md).
KNOWN_PROVIDERS: frozenset[str] = frozenset(
    {"apollo", "clearbit", "hunter", "openai", "hubspot", "salesforce", "scraper", "http"}
)

MAX_API_KEY_LENGTH = 4096
MAX_EXTRA_BYTES = 8192


def check_provider(value: str) -> str:
    slug = value.strip().lower()
    if slug not in KNOWN_PROVIDERS:
        raise ValueError(f"unknown provider; expected one of {', '.join(sorted(KNOWN_PROVIDERS))}")
    return slug


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    provider: str = Field(min_length=1, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    api_key: str = Field(min_length=1, max_length=MAX_API_KEY_LENGTH)
    # Encrypted together with the key (it may hold a client secret or a tenant URL); write-only.
    extra: dict[str, Any] | None = None

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        return check_provider(value)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank when given")
        if problem := text_problem(value):
            raise ValueError(f"name {problem}")
        return value

    @field_validator("api_key")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 8:
            raise ValueError("api_key must have at least 8 non-blank characters")
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError("api_key must not contain whitespace or control characters")
        return value

    @field_validator("extra")
    @classmethod
    def _small_extra(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > MAX_EXTRA_BYTES:
            raise ValueError(f"extra must be at most {MAX_EXTRA_BYTES} bytes of JSON")
        if value is not None and (problem := json_problem(value)):
            raise ValueError(f"extra {problem}")
        return value


class CredentialOut(BaseModel):
    """A stored credential as members see it: the key masked to its last four characters."""

    id: uuid.UUID
    provider: str
    name: str
    masked_key: str
    key_version: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ServiceCredentialOut(BaseModel):
    """The decrypted credential, for internal services only (X-Service-Key)."""

    id: uuid.UUID
    provider: str
    name: str
    api_key: str
    extra: dict[str, Any]


class Deleted(BaseModel):
    id: uuid.UUID
    deleted: bool = True


class RotationReport(BaseModel):
    rotated: int
    by_version: dict[int, int]
