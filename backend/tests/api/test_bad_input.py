"""Bad input of every kind, on every route of the OpenAPI document: a 4xx envelope, never a 500.

Routes added later are covered automatically. The caller owns the workspace in the URL, so the
requests get past authentication and tenancy and reach validation and the services.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from morket.core.config import Settings
from tests.factories import create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")

_PARAM = re.compile(r"\{([^}]+)\}")
NASTY: list[Any] = [
    None,
    -1,
    0,
    10**30,
    -(10**30),
    1.5e308,
    "",
    " ",
    "x" * 5000,
    "nul\u0000byte",
    "💥 emoji",
    "' OR 1=1 --",
    "../../etc/passwd",
    [],
    {},
    [None],
    {"nested": {"deep": [1, "2", None]}},
    True,
    # Shapes that once reached the database or a parser and came back as 500s (issue 8, item 10).
    "lone\ud800surrogate",
    float("nan"),
    float("inf"),
    float("-inf"),
    "http://[::1/",
    "http://[zz]/",
    f"http://{'a' * 64}.example.com/hook",
    f"http://{'h' * 300}.com/hook",
    "http://[2002:a9fe:a9fe::]/",
    [{"domain": "x" * 100_000}],
    [{"domain": "nul\u0000", "name\u0000": 1}],
    [{"domain": "lone\udc00"}],
    [{"domain": float("nan")}],
    {"k": "nul\u0000", "lone\ud800": float("inf")},
]
# A valid body per route that needs several fields: each field (and each value inside a list of
# records) is replaced by every NASTY value in turn, so the bad value gets past the other checks.
BASE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/workspaces/{workspace_id}/enrichment-jobs"): {
        "records": [{"domain": "acme.com", "company_name": "Acme", "first_name": "Ada", "last_name": "Lovelace"}],
        "fields": ["company_name"],
    },
    ("post", "/api/v1/workspaces/{workspace_id}/credentials"): {
        "provider": "hunter",
        "name": "main",
        "api_key": "abcdefgh12345678",
        "extra": {"region": "eu"},
    },
    # issue 15 item 1: CRM export (the ids are unknown: each nasty value must still be a 4xx)
    ("post", "/api/v1/workspaces/{workspace_id}/crm/exports"): {
        "table_id": "00000000-0000-4000-8000-000000000001",
        "connection_id": "00000000-0000-4000-8000-000000000002",
        "object_type": "contacts",
        "mapping": [{"column_id": "00000000-0000-4000-8000-000000000003", "property": "email"}],
        "key_property": "email",
    },
    ("post", "/api/v1/workspaces/{workspace_id}/crm/connections/callback"): {
        "code": "hu-code-abcdef",
        "state": "abcdefghijklmnopqrstuvwxyz0123456789",
    },
    ("post", "/api/v1/workspaces/{workspace_id}/webhooks"): {
        "url": "https://93.184.216.34/hook",
        "events": ["job.completed"],
    },
}
WHOLE_BODIES: list[Any] = [None, {}, [], "text", 42, [{}] * 3]
SKIP_PATHS = {"/api/v1/auth/logout", "/api/v1/auth/refresh"}  # covered in test_auth; body-only


def _schema_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return list(schema.get("properties", {}))


def _variants(base: dict[str, Any] | None) -> list[Any]:
    if base is None:
        return []
    out: list[Any] = []
    for key, good in base.items():
        out.extend({**base, key: value} for value in NASTY)
        if isinstance(good, list) and good and isinstance(good[0], dict):
            for inner in good[0]:
                out.extend({**base, key: [{**good[0], inner: value}]} for value in NASTY)
        if isinstance(good, dict):
            for inner in good:
                out.extend({**base, key: {**good, inner: value}} for value in NASTY)
    return out


def _fill(path: str, workspace_id: str, value: str | None = None) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(1) == "workspace_id":
            return workspace_id
        return value if value is not None else str(uuid.uuid4())

    return _PARAM.sub(sub, path)


async def test_no_route_answers_500_to_bad_input(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    ws = await create_workspace(client, owner)
    spec = (await client.get("/api/v1/openapi.json")).json()
    failures: list[str] = []
    sent = 0
    for path, operations in spec["paths"].items():
        if path in SKIP_PATHS:
            continue
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            fields = _schema_fields(spec, operation)
            bodies: list[Any] = list(WHOLE_BODIES)
            for field in fields:
                bodies.extend({field: value} for value in NASTY)
                bodies.append({f: value for f in fields for value in NASTY[9:10]})
            bodies.extend(_variants(BASE_BODIES.get((method, path))))
            urls = [_fill(path, ws["id"])]
            if _PARAM.search(path.replace("{workspace_id}", "")):
                urls += [_fill(path, ws["id"], v) for v in ("not-a-uuid", "0", "%00", "a" * 300)]
            for url in urls:
                for body in bodies:
                    # Encoded by hand: NaN, Infinity and lone surrogates are what we mean to send.
                    response = await client.request(
                        method.upper(),
                        url,
                        content=json.dumps(body, allow_nan=True, ensure_ascii=True),
                        headers={**owner.headers, "content-type": "application/json"},
                        params={"page": "-1", "limit": "x"},
                    )
                    sent += 1
                    # 503 is a declared state (a dependency not configured), never a crash.
                    crashed = response.status_code >= 500 and response.status_code != 503
                    unwrapped = response.status_code >= 400 and response.json().get("success") is not False
                    if crashed or unwrapped:
                        failures.append(f"{method.upper()} {url} {str(body)[:80]!r} -> {response.status_code}")
                    # Stop recreating state we may have deleted (the workspace itself).
                    if (
                        method == "delete"
                        and path == "/api/v1/workspaces/{workspace_id}"
                        and response.status_code == 200
                    ):
                        ws = await create_workspace(client, owner)
    assert not failures, "\n".join(failures[:30])
    assert sent > 200


def _token_with_raw_exp(claims: dict[str, Any], raw_exp: str, secret: str) -> str:
    """An HS256 token whose exp is written verbatim (PyJWT would re-encode 1e400 as Infinity)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64((json.dumps(claims)[:-1] + f', "exp": {raw_exp}}}').encode())
    signature = b64(hmac.new(secret.encode(), header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()


async def test_a_token_whose_exp_overflows_is_401_on_every_route(client: httpx.AsyncClient, settings: Settings) -> None:
    owner = await register(client)
    ws = await create_workspace(client, owner)
    now = int(time.time())
    # The login (token family) of a real sign-in, so only `exp` differs from a valid token.
    family = jwt.decode(owner.access_token, options={"verify_signature": False})["fam"]
    claims = {
        "sub": owner.id,
        "fam": family,
        "iat": now,
        "jti": "x",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    spec = (await client.get("/api/v1/openapi.json")).json()
    failures: list[str] = []
    # Past year 9999, past int64, and 1e400 (a float that JSON parses as infinity: int() overflows).
    for exp in ("100000000000000000000", "9223372036854775808", "253402300800", "1e300", "1e400"):
        token = _token_with_raw_exp(claims, exp, settings.jwt_secret)
        for path, operations in spec["paths"].items():
            for method in operations:
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                url = _fill(path, ws["id"])
                response = await client.request(
                    method.upper(), url, json={}, headers={"Authorization": f"Bearer {token}"}
                )
                crashed = response.status_code >= 500 and response.status_code != 503
                if crashed or (response.status_code >= 400 and response.json().get("success") is not False):
                    failures.append(f"{method.upper()} {path} exp={exp} -> {response.status_code}")
    assert not failures, "\n".join(failures[:30])
    # The same token with a sane exp works: the 401s above are about the overflow, not the token.
    fine = jwt.encode({**claims, "exp": now + 600}, settings.jwt_secret, algorithm="HS256")
    assert (await client.get("/api/v1/workspaces", headers={"Authorization": f"Bearer {fine}"})).status_code == 200
