from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request, Response

from morket.auth.deps import CurrentUser
from morket.core.caching import StaticAnswer
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import NotFound
from morket.providers.registry import REGISTRY
from morket.providers.schemas import ProviderOut, ProviderSettingsOut, ProviderSettingsUpdate, provider_out
from morket.providers.service import ProviderSettingsService
from morket.workspaces.deps import AdminAccess, ViewerAccess

router = APIRouter(tags=["providers"])

# The catalog only changes with a deploy: browsers keep it five minutes, then revalidate (304).
CATALOG_CACHE_CONTROL = "private, max-age=300"


@cache
def _catalog() -> StaticAnswer:
    """Built once per process: the JSON Schemas of every operation are the slow part."""
    envelope = ok([provider_out(adapter) for adapter in REGISTRY.values()])
    return StaticAnswer.of(envelope.model_dump_json(by_alias=True).encode())


@cache
def _provider(slug: str) -> StaticAnswer:
    return StaticAnswer.of(ok(provider_out(REGISTRY[slug])).model_dump_json(by_alias=True).encode())


@router.get("/api/v1/providers", response_model=Envelope[list[ProviderOut]])
async def list_providers(request: Request, _: CurrentUser) -> Response:
    """Every data provider with its operations, fields, input/output JSON Schemas, credit costs and rate limits."""
    return _catalog().respond(request, CATALOG_CACHE_CONTROL)


@router.get("/api/v1/providers/{provider_slug}", response_model=Envelope[ProviderOut])
async def get_provider(provider_slug: str, request: Request, _: CurrentUser) -> Response:
    """One provider by slug (e.g. apollo)."""
    if provider_slug not in REGISTRY:
        raise NotFound(f"No provider '{provider_slug}'.", code="provider_not_found")
    return _provider(provider_slug).respond(request, CATALOG_CACHE_CONTROL)


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
