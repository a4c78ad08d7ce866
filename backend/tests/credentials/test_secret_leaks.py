"""No response, log line or error message carries a credential's plaintext, ciphertext or nonce."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.logging import JsonFormatter
from tests.credentials.conftest import SERVICE_KEY, Team, make_team

SECRET = "apollo_SECRET_7c1f0e9d8b6a5432_TAIL"
EXTRA_SECRET = "sf-client-secret-5d4c3b2a19"


def _forms(raw: bytes) -> list[str]:
    """Every way a byte string tends to be printed."""
    return [
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        repr(raw)[2:-1],
    ]


async def test_no_secret_in_responses_or_logs(
    vault_client: httpx.AsyncClient, team: Team, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []

    async def call(method: str, url: str, **kwargs: object) -> httpx.Response:
        response = await vault_client.request(method, url, **kwargs)  # type: ignore[arg-type]
        responses.append(response)
        return response

    created = await call(
        "POST",
        team.url(),
        json={"provider": "salesforce", "name": "SF", "api_key": SECRET, "extra": {"client_secret": EXTRA_SECRET}},
        headers=team.admin.headers,
    )
    assert created.status_code == 201
    cred_id = created.json()["data"]["id"]
    await call("GET", team.url(), headers=team.viewer.headers)
    # Failures that carry the secret in the request.
    await call("POST", team.url(), json={"provider": "acme", "api_key": SECRET}, headers=team.admin.headers)
    await call("POST", team.url(), json={"provider": "apollo", "api_key": SECRET + " x"}, headers=team.admin.headers)
    await call("POST", team.url(), json={"provider": "apollo", "api_key": SECRET}, headers=team.member.headers)
    await call(
        "POST", team.url(), json={"provider": "apollo", "api_key": SECRET, "x": SECRET}, headers=team.admin.headers
    )
    await call("POST", team.url(), content=b'{"api_key": "' + SECRET.encode() + b'"', headers=team.admin.headers)
    other = await make_team(vault_client, "Other")
    await call("DELETE", other.url(f"/{cred_id}"), headers=other.admin.headers)
    internal = f"/api/v1/internal/workspaces/{team.workspace_id}/credentials/salesforce"
    await call("GET", internal, headers={"X-Service-Key": SECRET})
    await call("GET", internal + "x", headers={"X-Service-Key": SERVICE_KEY})

    # The one response allowed to carry the plaintext: the audited internal read. Its logs are not.
    granted = await vault_client.get(internal, headers={"X-Service-Key": SERVICE_KEY, "X-Service-Name": "scraper"})
    assert granted.status_code == 200 and granted.json()["data"]["api_key"] == SECRET

    row = (
        await session.execute(text("SELECT ciphertext, nonce FROM credentials WHERE id = :id"), {"id": cred_id})
    ).one()
    ciphertext, nonce = bytes(row.ciphertext), bytes(row.nonce)
    needles = [SECRET, EXTRA_SECRET, *_forms(ciphertext), *_forms(nonce), *_forms(ciphertext[-16:])]

    formatter = JsonFormatter()
    log_text = "\n".join(
        f"{record.getMessage()} {formatter.format(record)} {record.__dict__!r}" for record in caplog.records
    )
    assert caplog.records, "logging was not captured"
    assert any(r.name == "morket.credentials" for r in caplog.records)
    for needle in needles:
        assert needle not in log_text, f"a log line leaks {needle[:6]}..."
        for response in responses:
            assert needle not in response.text, f"{response.request.method} {response.request.url} leaks it"
            assert all(needle not in value for value in response.headers.values())
    assert SECRET not in str(granted.headers)
    for forbidden in (*_forms(ciphertext), *_forms(nonce)):
        assert forbidden not in granted.text
