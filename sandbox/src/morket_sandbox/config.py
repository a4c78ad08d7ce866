"""Sandbox configuration: valid keys per provider and the fault-injection knobs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

SANDBOX_API_KEY = "sandbox-key"
HUNTER_TEST_API_KEY = "test-api-key"
DEFAULT_PORT = 8010


class Provider(StrEnum):
    APOLLO = "apollo"
    CLEARBIT = "clearbit"
    HUNTER = "hunter"
    OPENAI = "openai"
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


def sandbox_base_url(provider: Provider, origin: str = f"http://127.0.0.1:{DEFAULT_PORT}") -> str:
    """The URL that replaces the provider's real origin (e.g. https://api.apollo.io) in an adapter."""
    return f"{origin.rstrip('/')}/{provider.value}"


def default_api_keys() -> dict[Provider, list[str]]:
    keys = {provider: [SANDBOX_API_KEY] for provider in Provider}
    keys[Provider.HUNTER] = [SANDBOX_API_KEY, HUNTER_TEST_API_KEY]
    return keys


class FaultSettings(BaseModel):
    """Fault knobs. In a per-provider entry, a field left as None inherits the global default."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(default=None, ge=0)
    latency_jitter_ms: float | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    rate_429: float | None = Field(default=None, ge=0, le=1)
    # 0 switches an inherited limit off for one provider.
    rate_limit_per_second: float | None = Field(default=None, ge=0)
    pending_rounds: int | None = Field(default=None, ge=0)
    quota: int | None = Field(default=None, ge=0)
    seed: int | None = None


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: FaultSettings = Field(default_factory=FaultSettings)
    providers: dict[Provider, FaultSettings] = Field(default_factory=dict)

    def for_provider(self, provider: Provider) -> EffectiveFaults:
        own = self.providers.get(provider, FaultSettings())
        merged = {**self.default.model_dump(exclude_none=True), **own.model_dump(exclude_none=True)}
        quota = merged.get("quota")
        return EffectiveFaults(
            latency_ms=float(merged.get("latency_ms", 0.0)),
            latency_jitter_ms=float(merged.get("latency_jitter_ms", 0.0)),
            error_rate=float(merged.get("error_rate", 0.0)),
            rate_429=float(merged.get("rate_429", 0.0)),
            rate_limit_per_second=float(merged.get("rate_limit_per_second", 0.0)),
            pending_rounds=int(merged.get("pending_rounds", 0)),
            quota=-1 if quota is None else int(quota),
            seed=int(merged.get("seed", 0)),
        )


@dataclass(frozen=True, slots=True)
class EffectiveFaults:
    """The knobs one provider actually runs with; 0 (or -1 for quota) means "off"."""

    latency_ms: float
    latency_jitter_ms: float
    error_rate: float
    rate_429: float
    rate_limit_per_second: float
    pending_rounds: int
    quota: int
    seed: int


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_keys: dict[Provider, list[str]] = Field(default_factory=default_api_keys)
    faults: FaultConfig = Field(default_factory=FaultConfig)

    def keys_for(self, provider: Provider) -> frozenset[str]:
        """Valid keys; a provider missing from `api_keys` accepts only SANDBOX_API_KEY."""
        return frozenset(self.api_keys.get(provider, [SANDBOX_API_KEY]))
