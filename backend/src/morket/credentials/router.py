from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.credentials.deps import CallingService
from morket.credentials.schemas import CredentialCreate, CredentialOut, Deleted, ServiceCredentialOut
from morket.credentials.service import CredentialService
from morket.workspaces.deps import AdminAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/credentials", tags=["credentials"])
internal_router = APIRouter(prefix="/api/v1/internal", tags=["internal"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_credential(
    body: CredentialCreate, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[CredentialOut]:
    """Store a provider API key, encrypted (admin+). The response shows only its last four characters."""
    return ok(await CredentialService(session, settings).create(access.workspace_id, access.user_id, body))


@router.get("")
async def list_credentials(
    access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[list[CredentialOut]]:
    """The workspace's credentials with masked keys (any member)."""
    return ok(await CredentialService(session, settings).list_masked(access.workspace_id))


@router.delete("/{credential_id}")
async def delete_credential(
    credential_id: uuid.UUID, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[Deleted]:
    """Delete a credential (admin+)."""
    await CredentialService(session, settings).delete(access.workspace_id, credential_id, access.user_id)
    return ok(Deleted(id=credential_id))


@internal_router.get("/workspaces/{workspace_id}/credentials/{provider}")
async def read_credential_for_service(
    workspace_id: uuid.UUID,
    provider: str,
    caller: CallingService,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> Envelope[ServiceCredentialOut]:
    """The decrypted credential of a provider, for internal services (X-Service-Key); every read is audited."""
    response.headers["Cache-Control"] = "no-store"
    credential = await CredentialService(session, settings).read_for_service(
        workspace_id, provider, actor=caller.actor, request_id=caller.request_id
    )
    return ok(
        ServiceCredentialOut(
            id=credential.id,
            provider=credential.provider,
            name=credential.name,
            api_key=credential.api_key,
            extra=credential.extra,
        )
    )
