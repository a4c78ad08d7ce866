"""What every CRM adapter does, and the outcomes it returns as data (like providers/base.py).

An adapter knows its CRM's wire format only: the OAuth endpoints, token answers, the batch
upsert call and how to read each record's outcome from the answer. Whether to refresh a token,
wait after a 429 or give up is the export run's decision (service.py), taken on these outcomes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx

from morket.core.config import Settings
from morket.models import CrmKind, CrmRowState


class TokenRefused(Exception):
    """The CRM refused a code or a refresh token (invalid_grant, bad client...): reconnect."""


@dataclass(frozen=True)
class CrmEndpoints:
    authorize_url: str
    token_url: str
    api_url: str | None  # None: the API is at the instance URL of the token answer (Salesforce)
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float | None  # epoch seconds; None when the CRM does not say (Salesforce)
    instance_url: str | None = None

    def expiring(self, margin: float = 60.0) -> bool:
        return self.expires_at is not None and self.expires_at - margin <= time.time()

    def as_extra(self) -> dict[str, Any]:
        """The vault payload's `extra` (encrypted with the access token)."""
        return {"refresh_token": self.refresh_token, "expires_at": self.expires_at, "instance_url": self.instance_url}

    @classmethod
    def from_vault(cls, access_token: str, extra: Mapping[str, Any]) -> TokenSet:
        expires_at = extra.get("expires_at")
        return cls(
            access_token=access_token,
            refresh_token=extra.get("refresh_token"),
            expires_at=float(expires_at) if expires_at is not None else None,
            instance_url=extra.get("instance_url"),
        )


class PushStatus(StrEnum):
    OK = "ok"  # the request was answered; each record's outcome is in `results`
    UNAUTHORIZED = "unauthorized"  # expired or revoked token: refresh, then retry the batch
    RATE_LIMITED = "rate_limited"  # wait `retry_after`, then retry the batch
    UNAVAILABLE = "unavailable"  # 5xx or transport error: retry the batch (the upsert is idempotent)
    REFUSED = "refused"  # the CRM refused the request itself (4xx): every record of it failed


@dataclass(frozen=True)
class UpsertRecord:
    row_id: int
    key: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class RecordResult:
    row_id: int
    state: CrmRowState  # CREATED, UPDATED or FAILED
    crm_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PushOutcome:
    status: PushStatus
    results: list[RecordResult] = field(default_factory=list)
    retry_after: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchRequest:
    """The one HTTP request that upserts a batch, as the CRM wants it (sent with the bearer token)."""

    method: str
    url: str
    body: Any


class CrmAdapter(ABC):
    """A CRM: its OAuth endpoints and token answers, its batch upsert request and how to read the answer.

    The grants, sending the batch and the statuses every CRM shares (401, 5xx, unreachable) are
    written here once; a CRM module says what is its own."""

    kind: CrmKind
    label: str  # "HubSpot": the result columns are "<label> id", "<label> status", "<label> error"
    batch_limit: int
    # object type -> its default upsert key property
    objects: Mapping[str, str]
    # Statuses of an answered batch (the per-record outcomes are in the body).
    answered_statuses: frozenset[int] = frozenset({200})

    @abstractmethod
    def endpoints(self, settings: Settings) -> CrmEndpoints: ...

    @abstractmethod
    def authorize_url(self, endpoints: CrmEndpoints, state: str, redirect_uri: str) -> str: ...

    @abstractmethod
    def token_set(self, answer: dict[str, Any], previous: TokenSet | None = None) -> TokenSet:
        """The tokens of a token answer (`previous`: the ones a refresh replaces)."""

    @abstractmethod
    def batch_request(
        self, api: str, object_type: str, key_property: str, records: Sequence[UpsertRecord]
    ) -> BatchRequest:
        """The upsert request; `api` is the CRM's API URL (the endpoints', else the token answer's instance)."""

    @abstractmethod
    def error_message(self, response: httpx.Response) -> str:
        """The CRM's own words for a refused request."""

    @abstractmethod
    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        """How long to wait when the answer says "too many requests"; None when it does not."""

    @abstractmethod
    def read_results(
        self,
        response: httpx.Response,
        key_property: str,
        records: Sequence[UpsertRecord],
        unanswered_since: datetime | None = None,
    ) -> PushOutcome:
        """The outcome of an answered batch, one result per record in input order
        (`unanswered_since`: see `upsert`)."""

    async def exchange_code(
        self, http: httpx.AsyncClient, endpoints: CrmEndpoints, code: str, redirect_uri: str
    ) -> TokenSet:
        return self.token_set(await exchange_code_grant(http, endpoints, code, redirect_uri))

    async def refresh(self, http: httpx.AsyncClient, endpoints: CrmEndpoints, tokens: TokenSet) -> TokenSet:
        return self.token_set(await refresh_grant(http, endpoints, tokens), tokens)

    async def upsert(
        self,
        http: httpx.AsyncClient,
        endpoints: CrmEndpoints,
        tokens: TokenSet,
        object_type: str,
        key_property: str,
        records: Sequence[UpsertRecord],
        unanswered_since: datetime | None = None,
    ) -> PushOutcome:
        """Upsert `records` by `key_property`. `unanswered_since`: this batch was sent before, from
        that time on, and its answer was lost; a record the CRM created since then was created by
        that attempt, so it counts as created, not updated (when the CRM's answer says when)."""
        api = endpoints.api_url or tokens.instance_url or ""
        batch = self.batch_request(api, object_type, key_property, records)
        try:
            response = await http.request(
                batch.method, batch.url, json=batch.body, headers={"authorization": f"Bearer {tokens.access_token}"}
            )
        except httpx.HTTPError as exc:
            return PushOutcome(PushStatus.UNAVAILABLE, error=f"the CRM could not be reached: {exc.__class__.__name__}")
        status = response.status_code
        if status == 401:
            return PushOutcome(PushStatus.UNAUTHORIZED, error=self.error_message(response))
        wait = self.rate_limit_wait(response)
        if wait is not None:
            return PushOutcome(PushStatus.RATE_LIMITED, retry_after=wait, error=self.error_message(response))
        if status >= 500:
            return PushOutcome(PushStatus.UNAVAILABLE, error=f"{self.label} answered {status}")
        if status not in self.answered_statuses:
            return PushOutcome(PushStatus.REFUSED, error=self.error_message(response))
        return self.read_results(response, key_property, records, unanswered_since)


# The provider sandbox's published test client (`morket_sandbox.oauth`). Written out here, not
# imported: the shipped package never imports the sandbox (tests/deploy/test_shipped_imports.py).
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"


def sandbox_or(settings: Settings, configured: str | None, sandbox_path: str, real: str) -> str:
    """A CRM host: the configured one, else the sandbox's (local and tests), else the real one."""
    if configured:
        return configured.rstrip("/")
    if settings.provider_sandbox_url:
        return settings.provider_sandbox_url.rstrip("/") + sandbox_path
    return real


def client_of(settings: Settings, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """The OAuth client; with the sandbox and none configured, the sandbox's published test client."""
    if client_id and client_secret:
        return client_id, client_secret
    if settings.provider_sandbox_url:
        return SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
    return client_id or "", client_secret or ""


async def post_token_form(http: httpx.AsyncClient, url: str, form: Mapping[str, str]) -> dict[str, Any]:
    """POST an OAuth token request; a 4xx is `TokenRefused` with the CRM's own words."""
    try:
        response = await http.post(url, data=dict(form), headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ConnectionError(f"the token endpoint could not be reached: {exc.__class__.__name__}") from None
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            body = {}
        words = body.get("error_description") or body.get("message") or body.get("error") or response.reason_phrase
        raise TokenRefused(str(words))
    if response.status_code != 200:
        raise ConnectionError(f"the token endpoint answered {response.status_code}")
    answer = response.json()
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise TokenRefused("the token endpoint answered no access token")
    return answer


def retry_after(response: httpx.Response, default: float = 1.0) -> float:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


async def exchange_code_grant(
    http: httpx.AsyncClient, endpoints: CrmEndpoints, code: str, redirect_uri: str
) -> dict[str, Any]:
    """The token answer for an authorization code (RFC 6749 4.1.3; both CRMs take this form)."""
    form = {
        "grant_type": "authorization_code",
        "client_id": endpoints.client_id,
        "client_secret": endpoints.client_secret,
        "redirect_uri": redirect_uri,
        "code": code,
    }
    return await post_token_form(http, endpoints.token_url, form)


async def refresh_grant(http: httpx.AsyncClient, endpoints: CrmEndpoints, tokens: TokenSet) -> dict[str, Any]:
    """The token answer for a refresh (RFC 6749 6; both CRMs take this form)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": endpoints.client_id,
        "client_secret": endpoints.client_secret,
        "refresh_token": tokens.refresh_token or "",
    }
    return await post_token_form(http, endpoints.token_url, form)
