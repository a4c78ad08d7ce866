"""Access to a table's event stream: a bearer token, or a short-lived signed query token.

Browsers' EventSource cannot send an Authorization header, so it opens the stream with
`?token=` from `POST .../events/token`. Either way the caller's membership is checked now,
so a token outlives neither the membership nor its minute.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from morket.apikeys.deps import api_key_access
from morket.apikeys.tokens import PresentedApiKey, is_api_key
from morket.auth.deps import IdentityCacheDep
from morket.auth.service import AuthService
from morket.core.deps import SessionDep, SettingsDep
from morket.core.errors import NotFound, Unauthorized
from morket.models import Role
from morket.tables.live import decode_event_token
from morket.workspaces.deps import WorkspaceAccess
from morket.workspaces.service import WorkspaceService

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


async def event_stream_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    identities: IdentityCacheDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    workspace_id: Annotated[uuid.UUID, Path(description="Workspace id")],
    table_id: Annotated[uuid.UUID, Path(description="Table id")],
    token: Annotated[str | None, Query(max_length=2000, description="Token from POST .../events/token")] = None,
) -> WorkspaceAccess:
    if credentials is not None and credentials.scheme.lower() == "bearer" and is_api_key(credentials.credentials):
        presented = PresentedApiKey(credentials.credentials)
        key, key_role = await api_key_access(request, session, identities, presented, workspace_id, Role.VIEWER)
        return WorkspaceAccess(workspace_id=workspace_id, user_id=key.created_by, role=key_role, api_key_id=key.id)
    if credentials is not None and credentials.scheme.lower() == "bearer":
        auth = AuthService(session, settings, identities)
        caller = await auth.identity(AuthService.decode_with(settings, credentials.credentials), workspace_id)
        if caller.role is None:  # every role, viewers included, may watch a table
            raise NotFound("Workspace not found.")
        return WorkspaceAccess(workspace_id=workspace_id, user_id=caller.id, role=caller.role)
    if token:
        claims = decode_event_token(settings, token)
        if claims is None:
            raise Unauthorized("Invalid or expired event token.", code="invalid_token")
        if claims.workspace_id != workspace_id or claims.table_id != table_id:
            raise NotFound("Table not found.")
        user_id = claims.user_id
    else:
        raise Unauthorized("Authentication required: a bearer token or ?token= from POST .../events/token.")
    role = await WorkspaceService(session).role_of(workspace_id, user_id)
    if role is None:  # every role, viewers included, may watch a table
        raise NotFound("Workspace not found.")
    return WorkspaceAccess(workspace_id=workspace_id, user_id=user_id, role=role)


EventStreamAccess = Annotated[WorkspaceAccess, Depends(event_stream_access)]
