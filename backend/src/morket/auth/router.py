from __future__ import annotations

from fastapi import APIRouter, status

from morket.auth.deps import AuthRateLimited, CurrentUser
from morket.auth.schemas import (
    AuthResult,
    LoginRequest,
    LogoutResult,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from morket.auth.service import AuthService
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[AuthRateLimited])
async def register(body: RegisterRequest, session: SessionDep, settings: SettingsDep) -> Envelope[AuthResult]:
    """Create an account and sign in."""
    user, tokens = await AuthService(session, settings).register(body.email, body.password, body.name)
    return ok(AuthResult(user=UserOut.model_validate(user), tokens=tokens))


@router.post("/login", dependencies=[AuthRateLimited])
async def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> Envelope[AuthResult]:
    """Exchange email and password for an access and a refresh token."""
    user, tokens = await AuthService(session, settings).login(body.email, body.password)
    return ok(AuthResult(user=UserOut.model_validate(user), tokens=tokens))


@router.post("/refresh", dependencies=[AuthRateLimited])
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> Envelope[TokenPair]:
    """Rotate a refresh token: returns a new pair; a reused token revokes its whole family."""
    return ok(await AuthService(session, settings).refresh(body.refresh_token))


@router.post("/logout", dependencies=[AuthRateLimited])
async def logout(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> Envelope[LogoutResult]:
    """Revoke the presented refresh token."""
    await AuthService(session, settings).logout(body.refresh_token)
    return ok(LogoutResult())


@router.get("/me")
async def me(user: CurrentUser) -> Envelope[UserOut]:
    """The signed-in user."""
    return ok(UserOut.model_validate(user))
