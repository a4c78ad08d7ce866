"""Bad input of every kind, on every route of the OpenAPI document: a 4xx envelope, never a 500.

Routes added later are covered automatically. The caller owns the workspace in the URL, so the
requests get past authentication and tenancy and reach validation and the services.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

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
]
WHOLE_BODIES: list[Any] = [None, {}, [], "text", 42, [{}] * 3]
SKIP_PATHS = {"/api/v1/auth/logout", "/api/v1/auth/refresh"}  # covered in test_auth; body-only


def _schema_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return list(schema.get("properties", {}))


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
            urls = [_fill(path, ws["id"])]
            if _PARAM.search(path.replace("{workspace_id}", "")):
                urls += [_fill(path, ws["id"], v) for v in ("not-a-uuid", "0", "%00", "a" * 300)]
            for url in urls:
                for body in bodies:
                    response = await client.request(
                        method.upper(), url, json=body, headers=owner.headers, params={"page": "-1", "limit": "x"}
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
