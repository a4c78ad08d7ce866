"""Provider registry and provider-settings payloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from morket.providers.base import ProviderAdapter

MIN_CACHE_TTL_SECONDS = 60
MAX_CACHE_TTL_SECONDS = 365 * 86400


class RateLimitOut(BaseModel):
    limit: int = Field(description="Calls allowed per period and API key")
    period_seconds: float
    description: str


class OperationOut(BaseModel):
    name: str
    description: str
    credit_cost: int = Field(description="Credits charged per successful call (cache hits and failures are free)")
    supplies: list[str] = Field(description="Canonical fields this operation can fill")
    required_inputs: list[list[str]] = Field(description="Alternatives: any one list of input keys suffices")
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class ProviderOut(BaseModel):
    slug: str
    name: str
    description: str
    website: str
    credit_cost: int = Field(description="Credits of the provider's cheapest operation")
    supplies: list[str]
    required_inputs: dict[str, list[list[str]]] = Field(description="Per supplied field: the input alternatives")
    operations: list[OperationOut]
    rate_limits: list[RateLimitOut]
    rate_limit_notes: str


def provider_out(adapter: ProviderAdapter) -> ProviderOut:
    required: dict[str, list[list[str]]] = {}
    for field_name in sorted(adapter.supplies):
        requirement = adapter.requirement_for(field_name)
        if requirement is not None:
            required[field_name] = requirement.as_lists()
    return ProviderOut(
        slug=adapter.slug,
        name=adapter.name,
        description=adapter.description,
        website=adapter.website,
        credit_cost=adapter.cost,
        supplies=sorted(adapter.supplies),
        required_inputs=required,
        operations=[
            OperationOut(
                name=op.name,
                description=op.description,
                credit_cost=op.cost,
                supplies=sorted(op.supplies),
                required_inputs=op.requires.as_lists(),
                input_schema=op.input_model.model_json_schema(),
                output_schema=op.output_model.model_json_schema(),
            )
            for op in adapter.operations
        ],
        rate_limits=[
            RateLimitOut(limit=w.limit, period_seconds=w.period, description=w.describe()) for w in adapter.rate_limits
        ],
        rate_limit_notes=adapter.rate_limit_notes,
    )


class ProviderSettingsOut(BaseModel):
    cache_enabled: bool
    cache_ttl_seconds: int
    is_default: bool = Field(description="True while the workspace has not changed the settings")


class ProviderSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cache_enabled: bool
    cache_ttl_seconds: int = Field(ge=MIN_CACHE_TTL_SECONDS, le=MAX_CACHE_TTL_SECONDS)
