"""A request made with an API key: the key's checks, its per-key rate limit, its use recorded.

Called by `workspaces.deps.require_role` (and the table event stream) when the bearer is `mk_...`.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from morket.apikeys.repository import ApiKeyIdentity
from morket.apikeys.service import ApiKeyService, ApiKeyUsage, required_scope
from morket.apikeys.tokens import PresentedApiKey
from morket.auth.identity_cache import IdentityCache
from morket.core.errors import TooManyRequests
from morket.core.ratelimit import RateLimiter, retry_after_header
from morket.models import Role


def route_path(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path


async def api_key_access(
    request: Request,
    session: AsyncSession,
    identities: IdentityCache | None,
    presented: PresentedApiKey,
    workspace_id: uuid.UUID,
    minimum: Role,
) -> tuple[ApiKeyIdentity, Role]:
    scope = required_scope(request.method, route_path(request))
    key, role = await ApiKeyService(session, identities).authorize(presented, workspace_id, minimum, scope)
    await limit_and_record(request, key)
    return key, role


async def limit_and_record(request: Request, key: ApiKeyIdentity) -> None:
    """The key's own rate limit (shared by every process: core/ratelimit.py), then its use noted."""
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = await limiter.hit(f"apikey:{key.id}", key.rate_limit_per_minute, 60.0)
    if not decision.allowed:
        raise TooManyRequests(
            f"This API key is limited to {key.rate_limit_per_minute} requests a minute.",
            code="api_key_rate_limited",
            headers={"Retry-After": retry_after_header(decision)},
        )
    usage: ApiKeyUsage | None = getattr(request.app.state, "api_key_usage", None)
    if usage is not None:
        await usage.record(key.id)
