"""Workspace API keys: create (shown once), list (prefix only), revoke; and "which key is this"."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from morket.apikeys.deps import limit_and_record
from morket.apikeys.repository import ApiKeyIdentity
from morket.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeySelf
from morket.apikeys.service import ApiKeyService
from morket.apikeys.tokens import PresentedApiKey
from morket.auth.deps import BearerCredential, IdentityCacheDep
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import Forbidden
from morket.models import ApiKeyScope
from morket.workspaces.deps import AdminAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/api-keys", tags=["api-keys"])
self_router = APIRouter(prefix="/api/v1/api-key", tags=["api-keys"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ApiKeyCreated]:
    """Create an API key (admin+); the key is in the answer this once."""
    service = ApiKeyService(session)
    return ok(
        await service.create(
            access.workspace_id, access.user_id, access.role, body, settings.api_key_rate_limit_per_minute
        )
    )


@router.get("")
async def list_api_keys(
    access: AdminAccess,
    session: SessionDep,
    include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False,
) -> Envelope[list[ApiKeyOut]]:
    """The workspace's API keys (admin+): prefixes only, never a key."""
    return ok(await ApiKeyService(session).list(access.workspace_id, include_revoked=include_revoked))


@router.delete("/{key_id}")
async def revoke_api_key(key_id: uuid.UUID, access: AdminAccess, session: SessionDep) -> Envelope[ApiKeyOut]:
    """Revoke an API key (admin+): it stops working in every API process at once."""
    return ok(await ApiKeyService(session).revoke(access.workspace_id, key_id))


async def presented_key(
    request: Request, credential: BearerCredential, session: SessionDep, identities: IdentityCacheDep
) -> ApiKeyIdentity:
    if not isinstance(credential, PresentedApiKey):
        raise Forbidden("This route describes the API key in 'Authorization: Bearer mk_...'.", code="api_key_required")
    key = await ApiKeyService(session, identities).authenticate(credential)
    await limit_and_record(request, key)
    return key


@self_router.get("")
async def describe_api_key(key: Annotated[ApiKeyIdentity, Depends(presented_key)]) -> Envelope[ApiKeySelf]:
    """The API key making the call: its workspace, role and scopes (for clients that hold only a key)."""
    role = key.role
    assert role is not None  # authenticate refuses a key without one
    return ok(
        ApiKeySelf(
            id=key.id,
            workspace_id=key.workspace_id,
            name=key.name,
            prefix=key.prefix,
            role=role,
            scopes=sorted(key.scopes, key=list(ApiKeyScope).index),
            rate_limit_per_minute=key.rate_limit_per_minute,
        )
    )
