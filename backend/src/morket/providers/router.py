from __future__ import annotations

from fastapi import APIRouter

from morket.auth.deps import CurrentUser
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import NotFound
from morket.providers.registry import REGISTRY
from morket.providers.schemas import ProviderOut, ProviderSettingsOut, ProviderSettingsUpdate, provider_out
from morket.providers.service import ProviderSettingsService
from morket.workspaces.deps import AdminAccess, ViewerAccess

router = APIRouter(tags=["providers"])


@router.get("/api/v1/providers")
async def list_providers(_: CurrentUser) -> Envelope[list[ProviderOut]]:
    """Every data provider with its operations, fields, input/output JSON Schemas, credit costs and rate limits."""
    return ok([provider_out(adapter) for adapter in REGISTRY.values()])


@router.get("/api/v1/providers/{provider_slug}")
async def get_provider(provider_slug: str, _: CurrentUser) -> Envelope[ProviderOut]:
    """One provider by slug (e.g. apollo)."""
    adapter = REGISTRY.get(provider_slug)
    if adapter is None:
        raise NotFound(f"No provider '{provider_slug}'.", code="provider_not_found")
    return ok(provider_out(adapter))


@router.get("/api/v1/workspaces/{workspace_id}/provider-settings")
async def get_provider_settings(
    access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ProviderSettingsOut]:
    """The workspace's provider settings: response cache on/off and its TTL (any member)."""
    return ok(await ProviderSettingsService(session, settings).get(access.workspace_id))


@router.put("/api/v1/workspaces/{workspace_id}/provider-settings")
async def update_provider_settings(
    body: ProviderSettingsUpdate, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ProviderSettingsOut]:
    """Turn the response cache on or off and set how long answers are reused (admin+)."""
    return ok(await ProviderSettingsService(session, settings).update(access.workspace_id, body))
