"""HubSpot CRM v3: OAuth (app.hubspot.com/oauth/authorize, POST /oauth/v1/token) and the batch
upsert of contacts and companies (<= 100 inputs, 207 when some fail). docs/crm.md."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from morket.core.config import Settings
from morket.crm.adapters.base import (
    BatchRequest,
    CrmAdapter,
    CrmEndpoints,
    PushOutcome,
    PushStatus,
    RecordResult,
    TokenSet,
    UpsertRecord,
    client_of,
    retry_after,
    sandbox_or,
)
from morket.models import CrmKind, CrmRowState

SCOPES = "crm.objects.contacts.write crm.objects.companies.write"


def _key(key_property: str, value: str) -> str:
    # HubSpot matches emails case-insensitively and answers them lower-cased.
    return value.strip().lower() if key_property == "email" else value.strip()


class HubSpotAdapter(CrmAdapter):
    kind: CrmKind = CrmKind.HUBSPOT
    label: str = "HubSpot"
    batch_limit: int = 100
    objects: Mapping[str, str] = {"contacts": "email", "companies": "domain"}
    answered_statuses = frozenset({200, 201, 207})  # 207: some inputs failed

    def endpoints(self, settings: Settings) -> CrmEndpoints:
        auth = sandbox_or(settings, settings.hubspot_auth_url, "/hubspot", "https://app.hubspot.com")
        api = sandbox_or(settings, settings.hubspot_api_url, "/hubspot", "https://api.hubapi.com")
        client_id, secret = client_of(settings, settings.hubspot_client_id, settings.hubspot_client_secret)
        return CrmEndpoints(f"{auth}/oauth/authorize", f"{api}/oauth/v1/token", api, client_id, secret)

    def authorize_url(self, endpoints: CrmEndpoints, state: str, redirect_uri: str) -> str:
        query = {"client_id": endpoints.client_id, "redirect_uri": redirect_uri, "scope": SCOPES, "state": state}
        return f"{endpoints.authorize_url}?{urlencode(query)}"

    def token_set(self, answer: dict[str, Any], previous: TokenSet | None = None) -> TokenSet:
        expires_in = answer.get("expires_in")
        return TokenSet(
            access_token=str(answer["access_token"]),
            refresh_token=answer.get("refresh_token") or (previous.refresh_token if previous else None),
            expires_at=time.time() + float(expires_in) if isinstance(expires_in, (int, float)) else None,
        )

    def batch_request(
        self, api: str, object_type: str, key_property: str, records: Sequence[UpsertRecord]
    ) -> BatchRequest:
        inputs = [
            {"idProperty": key_property, "id": r.key, "properties": {**r.properties, key_property: r.key}}
            for r in records
        ]
        return BatchRequest("POST", f"{api}/crm/v3/objects/{object_type}/batch/upsert", {"inputs": inputs})

    def error_message(self, response: httpx.Response) -> str:
        return str(_json(response).get("message") or f"HubSpot answered {response.status_code}")[:500]

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        if response.status_code != 429:
            return None
        # A DAILY policy will not clear in a minute: the run gives up past its longest wait.
        daily = _json(response).get("policyName") == "DAILY"
        return retry_after(response, 86_400.0 if daily else 1.0)

    def read_results(
        self,
        response: httpx.Response,
        key_property: str,
        records: Sequence[UpsertRecord],
        unanswered_since: datetime | None = None,
    ) -> PushOutcome:
        return PushOutcome(PushStatus.OK, results=_results(_json(response), key_property, records, unanswered_since))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _created_since(result: Mapping[str, Any], since: datetime | None) -> bool:
    """The record was created at or after `since` (HubSpot's `createdAt`, ISO 8601 in UTC)."""
    created_at = result.get("createdAt")
    if since is None or not isinstance(created_at, str):
        return False
    try:
        created = datetime.fromisoformat(created_at)
    except ValueError:
        return False
    return (created if created.tzinfo else created.replace(tzinfo=UTC)) >= since


def _results(
    body: dict[str, Any], key_property: str, records: Sequence[UpsertRecord], unanswered_since: datetime | None
) -> list[RecordResult]:
    """Each input's outcome. HubSpot's results are not in input order: they are matched by the
    key property's value, the errors by their `context.ids` (or `context.index`). `new` is false
    for a record that an earlier, unanswered attempt of this batch created: `createdAt` tells."""
    by_key = {_key(key_property, r.key): r for r in records}
    out: dict[int, RecordResult] = {}
    for result in body.get("results") or []:
        properties = result.get("properties") or {}
        value = properties.get(key_property)
        record = by_key.get(_key(key_property, str(value))) if value is not None else None
        if record is not None:
            created = result.get("new") is True or _created_since(result, unanswered_since)
            state = CrmRowState.CREATED if created else CrmRowState.UPDATED
            out[record.row_id] = RecordResult(record.row_id, state, crm_id=str(result.get("id")))
    for error in body.get("errors") or []:
        context = error.get("context") or {}
        targets: list[UpsertRecord] = []
        for value in context.get("ids") or []:
            if (record := by_key.get(_key(key_property, str(value)))) is not None:
                targets.append(record)
        for index in context.get("index") or []:
            if str(index).isdigit() and int(index) < len(records):
                targets.append(records[int(index)])
        message = str(error.get("message") or error.get("category") or "rejected by HubSpot")[:500]
        for record in targets:
            out.setdefault(record.row_id, RecordResult(record.row_id, CrmRowState.FAILED, error=message))
    for record in records:
        out.setdefault(
            record.row_id, RecordResult(record.row_id, CrmRowState.FAILED, error="HubSpot returned no result")
        )
    return [out[r.row_id] for r in records]
