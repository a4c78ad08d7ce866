"""Workspace access: membership and role, from the workspace id in the URL.

A workspace the caller is not a member of answers 404, exactly as if it did not exist, so
workspace ids of other tenants cannot be probed. A member whose role is too low gets 403.
The token's user, its login's revocation and the role are read in one query (auth's identity).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from morket.auth.deps import AccessClaimsDep, IdentityCacheDep
from morket.auth.service import AuthService
from morket.core.deps import SessionDep, SettingsDep
from morket.core.errors import Forbidden, NotFound
from morket.models import Role


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


def require_role(minimum: Role) -> Callable[..., Awaitable[WorkspaceAccess]]:
    async def dependency(
        claims: AccessClaimsDep,
        session: SessionDep,
        settings: SettingsDep,
        identities: IdentityCacheDep,
        workspace_id: Annotated[uuid.UUID, Path(description="Workspace id")],
    ) -> WorkspaceAccess:
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
