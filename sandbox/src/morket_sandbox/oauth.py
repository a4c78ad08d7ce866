"""OAuth 2 authorization-code grants for the emulated CRMs (HubSpot, Salesforce).

The authorize page approves at once (there is no one to click "Allow") and redirects to the
`redirect_uri` with a one-time code; the token endpoint trades the code, or a refresh token,
for an access token. Access tokens expire after a TTL and, optionally, after a number of API
requests, both settable at run time (`PUT /_admin/oauth`) so tests can expire a token in the
middle of an export deterministically. The CRMs' API endpoints accept only tokens issued here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from morket_sandbox.config import Provider

SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
CODE_TTL_SECONDS = 600.0


class OAuthSettings(BaseModel):
    """Token lifetimes; `access_token_max_requests` None means "no request budget"."""

    model_config = ConfigDict(extra="forbid")

    access_token_ttl_seconds: float = Field(default=1800.0, gt=0)
    access_token_max_requests: int | None = Field(default=None, ge=1)


class TokenCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class _Code:
    provider: Provider
    client_id: str
    redirect_uri: str
    expires_at: float


@dataclass(slots=True)
class _Access:
    provider: Provider
    expires_at: float
    requests_left: int | None


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


class OAuthError(Exception):
    """A refused token request: `error` is the OAuth error code (invalid_grant, invalid_client...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class OAuthStore:
    def __init__(self) -> None:
        self.settings = OAuthSettings()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, Provider] = {}
        self.issued = 0

    def reset(self) -> None:
        self.settings = OAuthSettings()
        self._codes.clear()
        self._access.clear()
        self._refresh.clear()
        self.issued = 0

    def new_code(self, provider: Provider, client_id: str, redirect_uri: str) -> str:
        code = f"{provider.value[:2]}-code-{secrets.token_urlsafe(18)}"
        self._codes[code] = _Code(provider, client_id, redirect_uri, time.time() + CODE_TTL_SECONDS)
        return code

    @staticmethod
    def check_client(client_id: str | None, client_secret: str | None) -> None:
        if client_id != SANDBOX_CLIENT_ID:
            raise OAuthError("invalid_client_id", "invalid client_id")
        if client_secret != SANDBOX_CLIENT_SECRET:
            raise OAuthError("invalid_client", "invalid client credentials")

    def exchange_code(
        self, provider: Provider, code: str | None, client_id: str, redirect_uri: str | None
    ) -> IssuedTokens:
        grant = self._codes.pop(code or "", None)  # a code works once, whatever happens next
        if grant is None or grant.provider is not provider or grant.expires_at < time.time():
            raise OAuthError("invalid_grant", "authorization code is invalid, expired or already used")
        if grant.client_id != client_id or grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri or client_id does not match the authorization request")
        refresh = f"{provider.value[:2]}-refresh-{secrets.token_urlsafe(24)}"
        self._refresh[refresh] = provider
        return self._issue(provider, refresh)

    def refresh(self, provider: Provider, refresh_token: str | None) -> IssuedTokens:
        if self._refresh.get(refresh_token or "") is not provider or refresh_token is None:
            raise OAuthError("invalid_grant", "refresh token is invalid or revoked")
        return self._issue(provider, refresh_token)

    def grant(self, provider: Provider, form: Mapping[str, str]) -> IssuedTokens:
        """A token request (RFC 6749 4.1.3 or 6): the client, then the code or the refresh token."""
        self.check_client(form.get("client_id"), form.get("client_secret"))
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self.exchange_code(provider, form.get("code"), SANDBOX_CLIENT_ID, form.get("redirect_uri"))
        if grant_type == "refresh_token":
            return self.refresh(provider, form.get("refresh_token"))
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _issue(self, provider: Provider, refresh_token: str) -> IssuedTokens:
        access = f"{provider.value[:2]}-access-{secrets.token_urlsafe(24)}"
        ttl = self.settings.access_token_ttl_seconds
        self._access[access] = _Access(provider, time.time() + ttl, self.settings.access_token_max_requests)
        self.issued += 1
        return IssuedTokens(access, refresh_token, max(1, int(ttl)))

    def use(self, provider: Provider, token: str | None) -> TokenCheck:
        """Check an API request's bearer token, spending one of its requests when it has a budget."""
        access = self._access.get(token or "")
        if access is None or access.provider is not provider:
            return TokenCheck.UNKNOWN
        if access.expires_at < time.time() or access.requests_left == 0:
            return TokenCheck.EXPIRED
        if access.requests_left is not None:
            access.requests_left -= 1
        return TokenCheck.VALID

    def expire_all(self) -> int:
        """Expire every issued access token now (refresh tokens stay valid)."""
        for access in self._access.values():
            access.expires_at = 0.0
        return len(self._access)


def with_query(url: str, code: str, state: str | None) -> str:
    """`url` with `code` (and `state` when given) added to its query string."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("code", code)]
    if state is not None:
        query.append(("state", state))
    return urlunsplit(parts._replace(query=urlencode(query)))


def approve(
    store: OAuthStore, provider: Provider, params: Mapping[str, str], refuse: Callable[[str], Response]
) -> Response:
    """The consent page, approved at once: 302 to `redirect_uri` with a new code and `state`;
    without a client or a redirect, the CRM's own error (`refuse`)."""
    client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
    if not client_id or not redirect_uri:
        return refuse("client_id and redirect_uri are required")
    code = store.new_code(provider, client_id, redirect_uri)
    return Response(status_code=302, headers={"location": with_query(redirect_uri, code, params.get("state"))})


async def token_request(
    request: Request, store: OAuthStore, provider: Provider
) -> tuple[dict[str, str], IssuedTokens | OAuthError]:
    """A token endpoint's work: the form, and the tokens it earns or why it earns none."""
    form = await read_form(request)
    try:
        return form, store.grant(provider, form)
    except OAuthError as exc:
        return form, exc


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (OAuth token requests). Parsed here rather than
    with Starlette's `request.form()`, which needs python-multipart for this one use."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))
