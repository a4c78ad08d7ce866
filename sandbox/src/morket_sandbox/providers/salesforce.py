"""Salesforce REST (an org's instance URL -> `/salesforce`): composite upsert by external id.

A well-formed request answers 200 even when records fail; each record's outcome is in the body.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from morket_sandbox import data
from morket_sandbox.config import Provider
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.oauth import OAuthError, TokenCheck, approve, token_request
from morket_sandbox.providers.hubspot import LOST_RESPONSE_PAGE
from morket_sandbox.state import CrmRecord, SandboxState, Usage
from morket_sandbox.wire import InvalidBodyError, read_json

PREFIX = "/salesforce"
AUTHORIZE_PATH = f"{PREFIX}/services/oauth2/authorize"  # login.salesforce.com in the real world
TOKEN_PATH = f"{PREFIX}/services/oauth2/token"
RECORD_LIMIT = 200
DAILY_API_LIMIT = 15_000
# Fields Salesforce insists on when a record is created (not when it is updated).
REQUIRED_ON_CREATE = {"Contact": ("LastName",), "Lead": ("LastName", "Company"), "Account": ("Name",)}
KEY_PREFIXES = {"Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q"}

_VERSION_RE = re.compile(r"v\d{2,3}\.\d")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_errors(status: int, message: str, error_code: str, fields: list[str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": error_code, "fields": fields or []}], status_code=status)


class SalesforceProfile(ProviderProfile):
    provider = Provider.SALESFORCE
    prefixes = (PREFIX,)
    open_paths = (AUTHORIZE_PATH, TOKEN_PATH)

    def authenticate(self, state: SandboxState, key: str | None) -> Response | None:
        # Salesforce words an expired session and an unknown one the same way.
        return None if state.oauth.use(self.provider, key) is TokenCheck.VALID else self.unauthorized(key)

    def extract_key(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() in {"bearer", "oauth"} else None

    def unauthorized(self, key: str | None) -> Response:
        return JSONResponse([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)

    def rate_limited(self, path: str, per_second: float) -> Response:
        # Salesforce reports its limits as 403 REQUEST_LIMIT_EXCEEDED, never 429.
        return salesforce_errors(403, "ConcurrentPerOrgLongTxn Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")

    def too_many_requests(self, path: str) -> Response:
        return salesforce_errors(429, "Too many requests; please retry later.", "REQUEST_LIMIT_EXCEEDED")

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return salesforce_errors(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")

    def internal_error(self) -> Response:
        return salesforce_errors(
            500,
            "An unexpected error occurred. Please include this ErrorId if you contact support.",
            "UNKNOWN_EXCEPTION",
        )

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        return (("sforce-limit-info", f"api-usage={usage.day}/{DAILY_API_LIMIT}"),)


def salesforce_id(sobject: str, field: str, value: str) -> str:
    """An 18-character record id with a valid case-safe checksum."""
    number = data.stable_hash("salesforce", sobject, field, value)
    body = ""
    for _ in range(9):
        number, digit = divmod(number, 62)
        body += _BASE62[digit]
    short = f"{KEY_PREFIXES.get(sobject, 'a01')}5g0{body}"[:15]
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(short[chunk * 5 : chunk * 5 + 5]) if char.isupper())
        suffix += _CHECKSUM[bits]
    return short + suffix


def _failure(status_code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": status_code, "message": message, "fields": fields}]}


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["salesforce"])

    @router.get("/services/oauth2/authorize")
    async def authorize(request: Request) -> Response:
        """The login and consent pages, approved at once: 302 to `redirect_uri` with `code` and `state`."""
        params = request.query_params
        if params.get("response_type") != "code":
            return _oauth_error("unsupported_response_type", "response type not supported")
        return approve(state.oauth, Provider.SALESFORCE, params, lambda m: _oauth_error("invalid_request", m))

    @router.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        """Trade a code or a refresh token for a session: `access_token` and the org's `instance_url`."""
        form, issued = await token_request(request, state.oauth, Provider.SALESFORCE)
        if isinstance(issued, OAuthError):
            return _oauth_error(issued.error, issued.description)
        instance_url = str(request.base_url).rstrip("/") + PREFIX
        answer = {
            "access_token": issued.access_token,
            "signature": str(data.stable_hash("sfsig", issued.access_token)),
            "scope": "api refresh_token",
            "instance_url": instance_url,
            "id": f"{instance_url}/id/00D5g000000SANDBOX/0055g000000SANDBOX",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }
        if form.get("grant_type") == "authorization_code":  # a refresh answers no new refresh token
            answer["refresh_token"] = issued.refresh_token
        return JSONResponse(answer)

    @router.patch("/services/data/{version}/composite/sobjects/{sobject}/{external_id_field}")
    async def composite_upsert(version: str, sobject: str, external_id_field: str, request: Request) -> Response:
        """Upsert up to 200 records by external id; per-record results in input order."""
        if not _VERSION_RE.fullmatch(version):
            return salesforce_errors(404, "The requested resource does not exist", "NOT_FOUND")
        try:
            body = await read_json(request)
        except InvalidBodyError as exc:
            return salesforce_errors(400, f"Unexpected character in JSON: {exc}", "JSON_PARSER_ERROR")
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            return salesforce_errors(400, "The request body must contain a non-empty 'records' array.", "INVALID_INPUT")
        if len(records) > RECORD_LIMIT:
            return salesforce_errors(400, f"Exceeded max size limit of {RECORD_LIMIT}", "EXCEEDED_ID_LIMIT")
        all_or_none = bool(body.get("allOrNone", False))

        outcomes: list[dict[str, Any]] = []
        writes: list[tuple[tuple[str, str, str, str], dict[str, Any]]] = []
        for record in records:
            if not isinstance(record, dict):
                outcomes.append(_failure("INVALID_INPUT", "Each record must be a JSON object", []))
                continue
            declared = record.get("attributes", {}).get("type") if isinstance(record.get("attributes"), dict) else None
            if declared is not None and declared != sobject:
                outcomes.append(_failure("INVALID_TYPE", f"Record type {declared} does not match {sobject}", []))
                continue
            value = record.get(external_id_field)
            if value is None or (isinstance(value, str) and not value.strip()):
                outcomes.append(_failure("MISSING_ARGUMENT", f"{external_id_field} not specified", [external_id_field]))
                continue
            key = (Provider.SALESFORCE.value, sobject, external_id_field, str(value).strip())
            if any(key == written for written, _ in writes):
                outcomes.append(
                    _failure("DUPLICATE_VALUE", f"Duplicate external id specified: {value}", [external_id_field])
                )
                continue
            fields = {name: v for name, v in record.items() if name != "attributes"}
            if key not in state.crm:
                missing = [name for name in REQUIRED_ON_CREATE.get(sobject, ()) if not fields.get(name)]
                if missing:
                    outcomes.append(
                        _failure(
                            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                        )
                    )
                    continue
            outcomes.append(
                {"id": salesforce_id(*key[1:]), "success": True, "errors": [], "created": key not in state.crm}
            )
            writes.append((key, fields))

        if all_or_none and len(writes) < len(outcomes):
            rolled_back = _failure(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
                [],
            )
            return JSONResponse([outcome if not outcome["success"] else rolled_back for outcome in outcomes])
        for key, fields in writes:
            record_state = state.crm.get(key)
            if record_state is None:
                record_state = state.crm[key] = CrmRecord(salesforce_id(*key[1:]), "", "")
            record_state.properties.update(fields)
        if state.lose_crm_response(Provider.SALESFORCE):
            return HTMLResponse(LOST_RESPONSE_PAGE, status_code=502)
        return JSONResponse(outcomes)

    return router
