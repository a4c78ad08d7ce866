"""The sandbox's own control API (no auth: the sandbox never holds real data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from morket_sandbox.config import FaultConfig, Provider
from morket_sandbox.oauth import OAuthSettings
from morket_sandbox.state import SandboxState


class CrmFaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # provider -> the number of next upserts that are applied but answered 502
    lose_responses: dict[Provider, int] = Field(default_factory=dict)


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Readiness probe."""
        return {"status": "ok"}

    @router.get("/faults")
    async def get_faults() -> FaultConfig:
        """The fault knobs in force."""
        return state.fault_config

    @router.put("/faults")
    async def put_faults(faults: FaultConfig) -> FaultConfig:
        """Replace the fault knobs; rate buckets, quotas, pending rounds and fault RNGs restart."""
        state.set_faults(faults)
        return state.fault_config

    @router.post("/reset")
    async def reset() -> dict[str, str]:
        """Back to the start-up config: faults, stats, counters and CRM records."""
        state.reset()
        return {"status": "reset"}

    @router.get("/oauth")
    async def get_oauth() -> OAuthSettings:
        """The CRMs' access-token lifetimes."""
        return state.oauth.settings

    @router.put("/oauth")
    async def put_oauth(settings: OAuthSettings) -> OAuthSettings:
        """Set the lifetime (seconds, and optionally API requests) of access tokens issued from now on."""
        state.oauth.settings = settings
        return settings

    @router.post("/oauth/expire")
    async def expire_tokens() -> dict[str, int]:
        """Expire every issued CRM access token now; refresh tokens keep working."""
        return {"expired": state.oauth.expire_all()}

    @router.put("/crm")
    async def put_crm_faults(faults: CrmFaults) -> CrmFaults:
        """Lose the answers of the next N upserts per CRM (applied, answered 502)."""
        state.crm_lost_responses = {p.value: n for p, n in faults.lose_responses.items()}
        return faults

    @router.get("/crm/records")
    async def crm_records(provider: Provider) -> list[dict[str, Any]]:
        """The records a CRM holds (what upserts made), for tests to compare with the table."""
        return [
            {"object": obj, "key_property": prop, "key": key, "id": record.id, "properties": record.properties}
            for (owner, obj, prop, key), record in state.crm.items()
            if owner == provider.value
        ]

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        """Responses per provider and status code since start-up or the last reset."""
        return state.stats.snapshot()

    return router
