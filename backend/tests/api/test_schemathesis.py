"""Property-based tests of the whole API from its OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid, as an owner of a real workspace, over
a real socket to the real app and database. Allowed: any documented or 4xx answer. Not allowed: a
5xx, or a body that does not match the documented schema. The example count per operation is
bounded (SCHEMATHESIS_EXAMPLES, default 5) so the run stays within a few minutes of CI.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from morket.app import create_app
from morket.core.config import Settings
from morket.devstack.ports import free_port
from tests.conftest import make_settings, unique_email

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))


@schemathesis.check
def no_undeclared_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """5xx is a crash, except 503: a declared state (a dependency not configured or not reachable)."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    if response.status_code == 503:
        assert response.json()["success"] is False


@dataclass
class LiveApi:
    url: str
    token: str
    workspace_id: str


@pytest.fixture(scope="module")
def live_api(database_url: str) -> Iterator[LiveApi]:
    # No Temporal: job creation answers its declared 503 (temporal_unavailable) once past validation.
    app_settings: Settings = make_settings(
        database_url, temporal_address=f"127.0.0.1:{free_port()}", service_api_key="svc-" + "k1" * 20
    )
    port = free_port()
    config = uvicorn.Config(create_app(app_settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url) as http:
        registered = http.post(
            "/api/v1/auth/register", json={"email": unique_email("st"), "password": "correct-horse-9", "name": "S"}
        )
        token = registered.json()["data"]["tokens"]["access_token"]
        ws = http.post("/api/v1/workspaces", json={"name": "Fuzz"}, headers={"Authorization": f"Bearer {token}"})
    yield LiveApi(url, token, ws.json()["data"]["id"])
    server.should_exit = True
    thread.join(timeout=10)


# The document is the app's own (no database is touched to build it); requests go to `live_api`.
schema = schemathesis.openapi.from_dict(create_app(make_settings("postgresql://unused/db")).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_5xx_and_no_schema_violation(case: schemathesis.Case, live_api: LiveApi) -> None:
    # Reach past tenancy: most generated requests act on the owner's own workspace.
    if "workspace_id" in (case.path_parameters or {}):
        case.path_parameters["workspace_id"] = live_api.workspace_id
    if case.path == "/api/v1/workspaces/{workspace_id}" and case.method == "DELETE":
        pytest.skip("deleting the workspace under test would turn the rest into 404s")
    case.call_and_validate(
        base_url=live_api.url,
        headers={"Authorization": f"Bearer {live_api.token}"},
        checks=[no_undeclared_server_error, response_schema_conformance],
    )
