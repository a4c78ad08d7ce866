"""Auth endpoints. The refresh token travels in the body, or for browsers in an httpOnly cookie.

Cookie transport (docs/auth.md): with `X-Refresh-Token-Transport: cookie`, login, register and
refresh set `morket_refresh` (HttpOnly, SameSite=Strict, Path=/api/v1/auth) and answer
`refresh_token: null`; refresh and logout read that cookie when the body carries no token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Cookie, Request, Response, status

from morket.auth.deps import AuthRateLimited, CurrentUser, auth_rate_limit, refresh_rate_limit
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
from morket.core.config import Settings
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import AppError, Unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

REFRESH_COOKIE = "morket_refresh"
COOKIE_PATH = "/api/v1/auth"
TRANSPORT_HEADER = "x-refresh-token-transport"

OptionalRefreshBody = Annotated[RefreshRequest | None, Body()]
RefreshCookie = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, max_length=512, description="Refresh token (browser cookie transport)")
]


def _wants_cookie(request: Request) -> bool:
    return request.headers.get(TRANSPORT_HEADER, "").strip().lower() == "cookie"


def _cookie_header(settings: Settings, value: str, max_age: int) -> str:
    # Built by hand: the contract spells SameSite=Strict, Starlette would write "strict".
    parts = [f"{REFRESH_COOKIE}={value}", "HttpOnly", "SameSite=Strict", f"Path={COOKIE_PATH}", f"Max-Age={max_age}"]
    if settings.morket_env == "production":
        parts.append("Secure")
    return "; ".join(parts)


def _clear_cookie_header(settings: Settings) -> str:
    return _cookie_header(settings, "", 0)


def _deliver(tokens: TokenPair, response: Response, settings: Settings, *, cookie: bool) -> TokenPair:
    """Move the refresh token into the cookie when the browser asked for it; else leave the body as is."""
    if not cookie or tokens.refresh_token is None:
        return tokens
    max_age = int(settings.refresh_ttl.total_seconds())
    response.headers.append("set-cookie", _cookie_header(settings, tokens.refresh_token, max_age))
    return tokens.model_copy(update={"refresh_token": None})


def _presented(body: RefreshRequest | None, cookie: str | None) -> tuple[str, bool]:
    """The refresh token to act on (the body's first, then the cookie's) and whether it came from the cookie."""
    if body is not None and body.refresh_token is not None:
        return body.refresh_token, False
    if cookie:
        return cookie, True
    raise Unauthorized(
        "No refresh token: send it as refresh_token in the body or in the morket_refresh cookie.",
        code="invalid_refresh_token",
    )


def _clearing_cookie_on_failure(exc: AppError, settings: Settings) -> AppError:
    exc.headers = {**(exc.headers or {}), "set-cookie": _clear_cookie_header(settings)}
    return exc


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[AuthRateLimited])
async def register(
    body: RegisterRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> Envelope[AuthResult]:
    """Create an account and sign in."""
    user, tokens = await AuthService(session, settings).register(body.email, body.password, body.name)
    tokens = _deliver(tokens, response, settings, cookie=_wants_cookie(request))
    return ok(AuthResult(user=UserOut.model_validate(user), tokens=tokens))


@router.post("/login", dependencies=[AuthRateLimited])
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> Envelope[AuthResult]:
    """Exchange email and password for an access and a refresh token."""
    user, tokens = await AuthService(session, settings).login(body.email, body.password)
    tokens = _deliver(tokens, response, settings, cookie=_wants_cookie(request))
    return ok(AuthResult(user=UserOut.model_validate(user), tokens=tokens))


@router.post("/refresh")
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: OptionalRefreshBody = None,
    cookie: RefreshCookie = None,
) -> Envelope[TokenPair]:
    """Rotate a refresh token (body or cookie): returns a new pair; a reused token revokes its whole login.

    Rate limited per login (RATE_LIMIT_REFRESH_PER_MINUTE), not with the password endpoints;
    a token that was never issued counts against the address's auth limit."""
    try:
        presented, from_cookie = _presented(body, cookie)
    except Unauthorized:
        await auth_rate_limit(request, settings)
        raise
    service = AuthService(session, settings)
    await refresh_rate_limit(request, settings, await service.family_of(presented))
    try:
        tokens = await service.refresh(presented)
    except AppError as exc:
        raise (_clearing_cookie_on_failure(exc, settings) if from_cookie else exc) from None
    # A token read from the cookie never goes back in a body, even without the header.
    return ok(_deliver(tokens, response, settings, cookie=from_cookie or _wants_cookie(request)))


@router.post("/logout", dependencies=[AuthRateLimited])
async def logout(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: OptionalRefreshBody = None,
    cookie: RefreshCookie = None,
) -> Envelope[LogoutResult]:
    """End the login of the presented refresh token (body or cookie); its access tokens stop working too."""
    presented, from_cookie = _presented(body, cookie)
    try:
        await AuthService(session, settings).logout(presented)
    except AppError as exc:
        raise (_clearing_cookie_on_failure(exc, settings) if from_cookie else exc) from None
    response.headers.append("set-cookie", _clear_cookie_header(settings))
    return ok(LogoutResult())


@router.get("/me")
async def me(user: CurrentUser) -> Envelope[UserOut]:
    """The signed-in user."""
    return ok(UserOut.model_validate(user))
