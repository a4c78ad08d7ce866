"""Who is calling: the bearer token's user, and the 5/min limit on auth endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from morket.auth.service import AuthService
from morket.core.deps import SessionDep, SettingsDep
from morket.core.errors import TooManyRequests, Unauthorized
from morket.core.ratelimit import RateLimiter, retry_after_header
from morket.models import User

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <access token>'.")
    return await AuthService(session, settings).user_for_access_token(credentials.credentials)


async def auth_rate_limit(request: Request, settings: SettingsDep) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = await limiter.hit(f"auth:{request.state.client_ip}", settings.rate_limit_auth_per_minute, 60.0)
    if not decision.allowed:
        raise TooManyRequests(
            "Too many authentication attempts; try again later.",
            headers={"Retry-After": retry_after_header(decision)},
        )


CurrentUser = Annotated[User, Depends(current_user)]
AuthRateLimited = Depends(auth_rate_limit)
