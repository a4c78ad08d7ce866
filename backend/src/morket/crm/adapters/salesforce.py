"""Salesforce REST: OAuth web-server flow (/services/oauth2/authorize and /token; the API lives
at the `instance_url` of the token answer) and the composite upsert by external id (<= 200
records; 200 with per-record `success` even when records fail). docs/crm.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from morket.core.config import Settings
from morket.crm.adapters.base import (
    BatchRequest,
    CrmAdapter,
    CrmEndpoints,
    PushOutcome,
    PushStatus,
    RecordResult,
    TokenRefused,
    TokenSet,
    UpsertRecord,
    client_of,
    retry_after,
    sandbox_or,
)
from morket.models import CrmKind, CrmRowState

API_VERSION = "v60.0"
# Salesforce reports its API limits as 403 REQUEST_LIMIT_EXCEEDED (or 429 at the edge); no Retry-After.
LIMIT_BACKOFF_SECONDS = 5.0


class SalesforceAdapter(CrmAdapter):
    kind: CrmKind = CrmKind.SALESFORCE
    label: str = "Salesforce"
    batch_limit: int = 200
    # The key field must be an External ID field of the object in the org (docs/crm.md).
    objects: Mapping[str, str] = {"Lead": "Email", "Contact": "Email", "Account": "Website"}

    def endpoints(self, settings: Settings) -> CrmEndpoints:
        login = sandbox_or(settings, settings.salesforce_login_url, "/salesforce", "https://login.salesforce.com")
        client_id, secret = client_of(settings, settings.salesforce_client_id, settings.salesforce_client_secret)
        return CrmEndpoints(
            f"{login}/services/oauth2/authorize", f"{login}/services/oauth2/token", None, client_id, secret
        )

    def authorize_url(self, endpoints: CrmEndpoints, state: str, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": endpoints.client_id,
            "redirect_uri": redirect_uri,
            "scope": "api refresh_token",
            "state": state,
        }
        return f"{endpoints.authorize_url}?{urlencode(query)}"

    def token_set(self, answer: dict[str, Any], previous: TokenSet | None = None) -> TokenSet:
        instance_url = answer.get("instance_url") or (previous.instance_url if previous else None)
        if not isinstance(instance_url, str) or not instance_url.startswith(("http://", "https://")):
            raise TokenRefused("the token answer has no instance_url")
        return TokenSet(
            access_token=str(answer["access_token"]),
            # A refresh answers no refresh token: the one we hold stays valid.
            refresh_token=answer.get("refresh_token") or (previous.refresh_token if previous else None),
            expires_at=None,  # Salesforce does not say; a 401 INVALID_SESSION_ID triggers the refresh
            instance_url=instance_url.rstrip("/"),
        )

    def batch_request(
        self, api: str, object_type: str, key_property: str, records: Sequence[UpsertRecord]
    ) -> BatchRequest:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": object_type}, **r.properties, key_property: r.key} for r in records],
        }
        url = (
            f"{api}/services/data/{API_VERSION}/composite/sobjects/"
            f"{quote(object_type, safe='')}/{quote(key_property, safe='')}"
        )
        return BatchRequest("PATCH", url, body)

    def error_message(self, response: httpx.Response) -> str:
        errors = _errors(response)
        if errors:
            first = errors[0]
            return f"{first.get('errorCode')}: {first.get('message')}"[:500]
        return f"Salesforce answered {response.status_code}"

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        codes = {str(e.get("errorCode")) for e in _errors(response)}
        if response.status_code == 429 or "REQUEST_LIMIT_EXCEEDED" in codes:
            return retry_after(response, LIMIT_BACKOFF_SECONDS)
        return None

    def read_results(
        self,
        response: httpx.Response,
        key_property: str,
        records: Sequence[UpsertRecord],
        unanswered_since: datetime | None = None,
    ) -> PushOutcome:
        # `unanswered_since` cannot be used: the composite answer says `created` but not when, so a
        # record that a lost attempt created is reported as updated by the retry (docs/crm.md).
        try:
            outcomes = response.json()
        except ValueError:
            return PushOutcome(PushStatus.UNAVAILABLE, error="Salesforce answered something other than JSON")
        if not isinstance(outcomes, list) or len(outcomes) != len(records):
            return PushOutcome(PushStatus.UNAVAILABLE, error="Salesforce answered a result per record count mismatch")
        return PushOutcome(PushStatus.OK, results=[_result(r, o) for r, o in zip(records, outcomes, strict=True)])


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, list) and response.status_code != 200:
        return [e for e in body if isinstance(e, dict)]
    return []


def _result(record: UpsertRecord, outcome: Any) -> RecordResult:
    if not isinstance(outcome, dict):
        return RecordResult(record.row_id, CrmRowState.FAILED, error="Salesforce returned no result")
    if outcome.get("success"):
        state = CrmRowState.CREATED if outcome.get("created") else CrmRowState.UPDATED
        return RecordResult(record.row_id, state, crm_id=str(outcome.get("id")))
    errors = outcome.get("errors") or []
    message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    return RecordResult(record.row_id, CrmRowState.FAILED, error=(message or "rejected by Salesforce")[:500])
