"""The sandbox's own control API (no auth: the sandbox never holds real data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from morket_sandbox.config import FaultConfig
from morket_sandbox.state import SandboxState


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

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        """Responses per provider and status code since start-up or the last reset."""
        return state.stats.snapshot()

    return router
