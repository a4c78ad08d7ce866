"""Workspace access: membership and role, from the workspace id in the URL.

A workspace the caller is not a member of answers 404, exactly as if it did not exist, so
workspace ids of other tenants cannot be probed. A member whose role is too low gets 403.
The token's user, its login's revocation and the role are read in one query (auth's identity).
A workspace API key (`Bearer mk_...`) gets the same checks with its own role, plus its scopes
and its rate limit (apikeys/deps.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from morket.apikeys.deps import api_key_access
from morket.apikeys.tokens import PresentedApiKey
from morket.auth.deps import BearerCredential, IdentityCacheDep
from morket.auth.service import AuthService
from morket.core.deps import SessionDep, SettingsDep
from morket.core.errors import Forbidden, NotFound
from morket.models import Role


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace_id: uuid.UUID
    user_id: uuid.UUID  # with an API key: the key's creator, in whose name its writes are recorded
    role: Role
    api_key_id: uuid.UUID | None = None


def require_role(minimum: Role) -> Callable[..., Awaitable[WorkspaceAccess]]:
    async def dependency(
        request: Request,
        claims: BearerCredential,
        session: SessionDep,
        settings: SettingsDep,
        identities: IdentityCacheDep,
        workspace_id: Annotated[uuid.UUID, Path(description="Workspace id")],
    ) -> WorkspaceAccess:
        if isinstance(claims, PresentedApiKey):
            key, key_role = await api_key_access(request, session, identities, claims, workspace_id, minimum)
            return WorkspaceAccess(workspace_id=workspace_id, user_id=key.created_by, role=key_role, api_key_id=key.id)
        user = await AuthService(session, settings, identities).identity(claims, workspace_id)
        role = user.role
        if role is None:
            raise NotFound("Workspace not found.")
        if not role.at_least(minimum):
            raise Forbidden(f"This action needs the {minimum.value} role or higher; you are {role.value}.")
        return WorkspaceAccess(workspace_id=workspace_id, user_id=user.id, role=role)

    dependency.__name__ = f"require_{minimum.value}"
    return dependency


# Reads are open to every member, viewers included; writes need the role the seed lists.
ViewerAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.VIEWER))]
MemberAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.MEMBER))]
AdminAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.ADMIN))]
OwnerAccess = Annotated[WorkspaceAccess, Depends(require_role(Role.OWNER))]
