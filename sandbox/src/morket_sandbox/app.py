"""The provider sandbox: one FastAPI app emulating every third-party API Morket calls."""

from __future__ import annotations

from fastapi import FastAPI

from morket_sandbox import admin
from morket_sandbox.config import SandboxConfig
from morket_sandbox.gate import ProviderGate, ProviderProfile
from morket_sandbox.providers import apollo, clearbit, hubspot, hunter, openai, salesforce
from morket_sandbox.state import SandboxState

PROFILES: tuple[ProviderProfile, ...] = (
    apollo.ApolloProfile(),
    clearbit.ClearbitProfile(),
    hunter.HunterProfile(),
    openai.OpenAIProfile(),
    hubspot.HubSpotProfile(),
    salesforce.SalesforceProfile(),
)


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    state = SandboxState(config or SandboxConfig())
    app = FastAPI(
        title="Morket provider sandbox",
        description="Emulates Apollo, Clearbit, Hunter, OpenAI, HubSpot and Salesforce for offline runs and tests.",
        docs_url="/_admin/docs",
        openapi_url="/_admin/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = state
    for router in (
        apollo.build_router(state),
        clearbit.build_router(state),
        clearbit.build_router(state, streaming=True),
        hunter.build_router(state),
        openai.build_router(state),
        hubspot.build_router(state),
        salesforce.build_router(state),
        admin.build_router(state),
    ):
        app.include_router(router)
    app.add_middleware(ProviderGate, state=state, profiles=PROFILES)
    return app
