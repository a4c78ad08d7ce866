"""Walks every workspace-scoped route of the OpenAPI document with a foreign workspace: all 404.

New routes are covered automatically; a route that leaks another tenant's existence fails here.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.factories import create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")

_PARAM = re.compile(r"\{([^}]+)\}")


def _fill(path: str, workspace_id: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "workspace_id":
            return workspace_id
        if name in {"provider", "provider_slug"}:
            return "apollo"
        return str(uuid.uuid4())

    return _PARAM.sub(value, path)


async def test_every_workspace_route_hides_foreign_workspaces(client: httpx.AsyncClient) -> None:
    owner, outsider = await register(client), await register(client)
    ws = await create_workspace(client, owner)
    spec = (await client.get("/api/v1/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        if "{workspace_id}" not in path or not path.startswith("/api/v1/workspaces/"):
            continue
        for method in operations:
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for workspace_id in (ws["id"], str(uuid.uuid4())):
                url = _fill(path, workspace_id)
                response = await client.request(method.upper(), url, json={}, headers=outsider.headers)
                assert response.status_code == 404, f"{method.upper()} {path} answered {response.status_code}"
                assert response.json()["success"] is False
                checked += 1
    assert checked >= 14  # the workspace and member routes alone give 7 operations x 2 ids


async def test_every_workspace_route_requires_authentication(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/workspaces"):
            continue
        for method in operations:
            response = await client.request(method.upper(), _fill(path, str(uuid.uuid4())), json={})
            assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
