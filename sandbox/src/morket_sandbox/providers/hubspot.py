"""HubSpot CRM v3 (`https://api.hubapi.com` -> `/hubspot`): batch upsert of contacts and companies."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from morket_sandbox import data
from morket_sandbox.config import Provider
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.oauth import IssuedTokens, OAuthError, TokenCheck, approve, token_request
from morket_sandbox.state import CrmRecord, SandboxState, Usage
from morket_sandbox.wire import InvalidBodyError, read_json_object

PREFIX = "/hubspot"
AUTHORIZE_PATH = f"{PREFIX}/oauth/authorize"  # app.hubspot.com/oauth/authorize in the real world
TOKEN_PATH = f"{PREFIX}/oauth/v1/token"
BATCH_LIMIT = 100
DAILY_LIMIT = 250_000
OBJECT_TYPES = ("contacts", "companies")


def hubspot_error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return JSONResponse({**body, **extra}, status_code=status)


def _rate_limit(message: str, policy: str) -> JSONResponse:
    return JSONResponse(
        {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
        },
        status_code=429,
    )


class HubSpotProfile(ProviderProfile):
    provider = Provider.HUBSPOT
    prefixes = (PREFIX,)
    open_paths = (AUTHORIZE_PATH, TOKEN_PATH)

    def authenticate(self, state: SandboxState, key: str | None) -> Response | None:
        check = state.oauth.use(self.provider, key)
        if check is TokenCheck.VALID:
            return None
        if check is TokenCheck.EXPIRED:
            return hubspot_error(
                401, "The OAuth token used to make this call expired 0 second(s) ago.", "EXPIRED_AUTHENTICATION"
            )
        return self.unauthorized(key)

    def extract_key(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def unauthorized(self, key: str | None) -> Response:
        return hubspot_error(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and private app tokens.",
            "INVALID_AUTHENTICATION",
        )

    def rate_limited(self, path: str, per_second: float) -> Response:
        return _rate_limit("You have reached your secondly limit.", "SECONDLY")

    def too_many_requests(self, path: str) -> Response:
        return _rate_limit("You have reached your secondly limit.", "SECONDLY")

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return _rate_limit("You have reached your daily limit.", "DAILY")

    def internal_error(self) -> Response:
        return hubspot_error(500, "internal error", "INTERNAL_ERROR")

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        return (
            ("x-hubspot-ratelimit-daily", str(DAILY_LIMIT)),
            ("x-hubspot-ratelimit-daily-remaining", str(max(0, DAILY_LIMIT - usage.day))),
        )


def hubspot_object_id(object_type: str, id_property: str, value: str) -> str:
    """The numeric id HubSpot gives the record the first time it is upserted."""
    return str(10_000_000_000 + data.stable_hash("hubspot", object_type, id_property, value) % 90_000_000_000)


def _property_value(value: Any) -> str | None:
    """HubSpot stores every property as a string, booleans as "true"/"false"."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


LOST_RESPONSE_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _input_error(message: str, index: int, value: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": message,
        "context": {"index": [str(index)], "ids": [str(value)] if value is not None else []},
    }


def _oauth_refusal(exc: OAuthError, grant_type: str | None) -> JSONResponse:
    status = _REFUSALS.get(exc.error)
    if status is None:
        status = "BAD_REFRESH_TOKEN" if grant_type == "refresh_token" else "BAD_AUTH_CODE"
    message = "unknown grant_type" if status == "BAD_GRANT_TYPE" else exc.description
    return JSONResponse({"status": status, "message": message, "correlationId": str(uuid.uuid4())}, status_code=400)


# OAuth error -> HubSpot's status for it (a bad code or refresh token: by the grant type).
_REFUSALS = {
    "invalid_client_id": "BAD_CLIENT_ID",
    "invalid_client": "BAD_CLIENT_SECRET",
    "unsupported_grant_type": "BAD_GRANT_TYPE",
}


def _tokens(tokens: IssuedTokens) -> JSONResponse:
    return JSONResponse(
        {
            "token_type": "bearer",
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in,
        }
    )


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["hubspot"])

    @router.get("/oauth/authorize")
    async def authorize(request: Request) -> Response:
        """The consent page, approved at once: 302 to `redirect_uri` with `code` and `state`."""
        return approve(
            state.oauth, Provider.HUBSPOT, request.query_params, lambda m: hubspot_error(400, m, "VALIDATION_ERROR")
        )

    @router.post("/oauth/v1/token")
    async def token(request: Request) -> Response:
        """Trade an authorization code or a refresh token for an access token (form-encoded)."""
        form, issued = await token_request(request, state.oauth, Provider.HUBSPOT)
        if isinstance(issued, OAuthError):
            return _oauth_refusal(issued, form.get("grant_type"))
        return _tokens(issued)

    @router.post("/crm/v3/objects/{object_type}/batch/upsert")
    async def batch_upsert(object_type: str, request: Request) -> Response:
        """Create or update up to 100 records keyed by `idProperty`; 207 when some inputs fail."""
        if object_type not in OBJECT_TYPES:
            return hubspot_error(400, f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND")
        try:
            body = await read_json_object(request)
        except InvalidBodyError:
            return hubspot_error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return hubspot_error(400, "Invalid input: `inputs` must be a non-empty array", "VALIDATION_ERROR")
        if len(inputs) > BATCH_LIMIT:
            return hubspot_error(
                400,
                f"Batch input limit exceeded: {len(inputs)} inputs, the limit is {BATCH_LIMIT}.",
                "VALIDATION_ERROR",
            )
        started_at = _now()
        results: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for index, item in enumerate(inputs):
            if not isinstance(item, dict):
                failures.append(_input_error("Input must be an object", index, None))
                continue
            id_property, value, properties = item.get("idProperty"), item.get("id"), item.get("properties") or {}
            if not isinstance(id_property, str) or not id_property or not isinstance(value, str) or not value.strip():
                failures.append(_input_error("Both `id` and `idProperty` are required for an upsert", index, value))
                continue
            if id_property == "email" and data.normalize_email(value) is None:
                failures.append(_input_error(f"Property values were not valid: email {value!r}", index, value))
                continue
            if not isinstance(properties, dict):
                failures.append(_input_error("`properties` must be an object", index, value))
                continue
            # HubSpot matches emails case-insensitively.
            key_value = value.strip().lower() if id_property == "email" else value.strip()
            key = (Provider.HUBSPOT.value, object_type, id_property, key_value)
            record = state.crm.get(key)
            created = record is None
            now = _now()
            if record is None:
                record = CrmRecord(hubspot_object_id(object_type, id_property, key_value), now, now)
                state.crm[key] = record
            record.updated_at = now
            record.properties.update({name: _property_value(v) for name, v in properties.items()})
            record.properties[id_property] = key_value
            results.append(
                {
                    "id": record.id,
                    "properties": {
                        **record.properties,
                        "hs_object_id": record.id,
                        "createdate": record.created_at,
                        "lastmodifieddate": record.updated_at,
                    },
                    "createdAt": record.created_at,
                    "updatedAt": record.updated_at,
                    "archived": False,
                    "new": created,
                }
            )
        if state.lose_crm_response(Provider.HUBSPOT):
            return HTMLResponse(LOST_RESPONSE_PAGE, status_code=502)
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started_at,
            "completedAt": _now(),
        }
        if failures:
            payload |= {"numErrors": len(failures), "errors": failures}
            return JSONResponse(payload, status_code=207)
        return JSONResponse({**payload, "errors": [], "numErrors": 0})

    return router
