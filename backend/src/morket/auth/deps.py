"""Who is calling: the bearer token's user, the 5/min limit on auth endpoints, and the refresh's own limit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from morket.apikeys.tokens import PresentedApiKey, is_api_key
from morket.auth.identity_cache import IdentityCache
from morket.auth.repository import Identity
from morket.auth.security import AccessClaims
from morket.auth.service import AuthService
from morket.core.config import Settings
from morket.core.deps import SessionDep, SettingsDep
from morket.core.errors import Forbidden, TooManyRequests, Unauthorized
from morket.core.ratelimit import RateLimiter, retry_after_header

_bearer = HTTPBearer(
    auto_error=False, description="Access token from /api/v1/auth/login, or a workspace API key (mk_...)"
)


async def bearer_credential(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AccessClaims | PresentedApiKey:
    """A verified access token's claims, or an API key still to be looked up (workspace routes)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <access token>'.")
    if is_api_key(credentials.credentials):
        return PresentedApiKey(credentials.credentials)
    return AuthService.decode_with(settings, credentials.credentials)


BearerCredential = Annotated[AccessClaims | PresentedApiKey, Depends(bearer_credential)]


async def access_claims(credential: BearerCredential) -> AccessClaims:
    """The verified claims of a user's access token; no database yet. API keys are for workspace routes."""
    if isinstance(credential, PresentedApiKey):
        raise Forbidden(
            "API keys work on workspace routes (/api/v1/workspaces/{id}/...); this one needs a user's sign-in.",
            code="api_key_not_supported",
        )
    return credential


AccessClaimsDep = Annotated[AccessClaims, Depends(access_claims)]


async def identity_cache(request: Request) -> IdentityCache | None:
    """The process's identity cache (auth/identity_cache.py); None where the app has none."""
    cache: IdentityCache | None = getattr(request.app.state, "identity_cache", None)
    return cache


IdentityCacheDep = Annotated[IdentityCache | None, Depends(identity_cache)]


async def current_user(
    session: SessionDep, settings: SettingsDep, claims: AccessClaimsDep, identities: IdentityCacheDep
) -> Identity:
    return await AuthService(session, settings, identities).identity(claims)


async def auth_rate_limit(request: Request, settings: SettingsDep) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = await limiter.hit(f"auth:{request.state.client_ip}", settings.rate_limit_auth_per_minute, 60.0)
    if not decision.allowed:
        raise TooManyRequests(
            "Too many authentication attempts; try again later.",
            headers={"Retry-After": retry_after_header(decision)},
        )


async def refresh_rate_limit(request: Request, settings: Settings, family_id: uuid.UUID | None) -> None:
    """A refresh with a token we issued counts against its login's own bucket
    (RATE_LIMIT_REFRESH_PER_MINUTE): page loads and tabs renew often, and must not use up the
    password attempts of the client's address. A token we never issued (a guess) counts against
    the address's auth bucket, like a wrong password."""
    if family_id is None:
        await auth_rate_limit(request, settings)
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = await limiter.hit(f"auth-refresh:{family_id}", settings.rate_limit_refresh_per_minute, 60.0)
    if not decision.allowed:
        raise TooManyRequests(
            "Too many token refreshes for this session; try again later.",
            headers={"Retry-After": retry_after_header(decision)},
        )


CurrentUser = Annotated[Identity, Depends(current_user)]
AuthRateLimited = Depends(auth_rate_limit)
