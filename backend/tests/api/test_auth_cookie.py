"""The browser's refresh-token transport: an httpOnly, SameSite=Strict cookie limited to /api/v1/auth."""

from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi import FastAPI

from morket.app import create_app
from morket.core.config import Settings
from tests.conftest import make_settings, unique_email
from tests.factories import PASSWORD, register

pytestmark = pytest.mark.usefixtures("clean_db")

COOKIE_MODE = {"X-Refresh-Token-Transport": "cookie"}
SEVEN_DAYS = 7 * 24 * 3600


def _refresh_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The morket_refresh Set-Cookie of a response: its value and its attributes (lower-cased names)."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith("morket_refresh=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    first, *attributes = [part.strip() for part in headers[0].split(";")]
    value = first.split("=", 1)[1].strip('"')
    parsed: dict[str, str] = {}
    for attribute in attributes:
        name, _, attr_value = attribute.partition("=")
        parsed[name.lower()] = attr_value
    return value, parsed


def _browser(app: FastAPI) -> httpx.AsyncClient:
    # https so the client's cookie jar also returns Secure cookies in the production case.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


async def test_login_in_cookie_mode_sets_the_cookie_and_hides_the_token(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}, headers=COOKIE_MODE
    )
    assert response.status_code == 200
    tokens = response.json()["data"]["tokens"]
    assert tokens["refresh_token"] is None and tokens["access_token"]
    value, attributes = _refresh_cookie(response)
    assert len(value) > 40
    assert attributes == {"httponly": "", "samesite": "Strict", "path": "/api/v1/auth", "max-age": str(SEVEN_DAYS)}
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["data"]["id"] == user.id


async def test_register_in_cookie_mode(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}, headers=COOKIE_MODE
    )
    assert response.status_code == 201
    assert response.json()["data"]["tokens"]["refresh_token"] is None
    _refresh_cookie(response)


async def test_refresh_and_logout_read_the_cookie(client: httpx.AsyncClient) -> None:
    user = await register(client)
    login = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}, headers=COOKIE_MODE
    )
    first, _ = _refresh_cookie(login)

    # The client's jar sends the cookie back; bodies are empty or {}.
    refreshed = await client.post("/api/v1/auth/refresh", headers=COOKIE_MODE)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["data"]["refresh_token"] is None
    second, _ = _refresh_cookie(refreshed)
    assert second != first
    again = await client.post("/api/v1/auth/refresh", json={}, headers=COOKIE_MODE)
    assert again.status_code == 200, again.text
    third, _ = _refresh_cookie(again)
    access = again.json()["data"]["access_token"]

    out = await client.post("/api/v1/auth/logout", json={})
    assert out.status_code == 200 and out.json()["data"]["logged_out"] is True
    cleared, attributes = _refresh_cookie(out)
    assert cleared == "" and attributes["max-age"] == "0" and attributes["path"] == "/api/v1/auth"
    assert "morket_refresh" not in client.cookies
    # The session is over: the rotated token and the access token of that login are dead.
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": third})).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})).status_code == 401


async def test_body_token_wins_over_the_cookie(client: httpx.AsyncClient) -> None:
    cookie_user = await register(client)
    await client.post(
        "/api/v1/auth/login", json={"email": cookie_user.email, "password": PASSWORD}, headers=COOKIE_MODE
    )
    body_user = await register(client)
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": body_user.refresh_token})
    assert response.status_code == 200
    # Without the header the answer is the old one: the new token in the body, no cookie.
    assert response.json()["data"]["refresh_token"]
    assert not [h for h in response.headers.get_list("set-cookie") if h.startswith("morket_refresh=")]
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['data']['access_token']}"}
    )
    assert me.json()["data"]["id"] == body_user.id


async def test_refresh_without_any_token_is_401(client: httpx.AsyncClient) -> None:
    for body in (None, {}):
        response = await client.post("/api/v1/auth/refresh", json=body)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_refresh_token"
    logout = await client.post("/api/v1/auth/logout")
    assert logout.status_code == 401


async def test_a_bad_cookie_is_401_and_cleared(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/refresh", headers={**COOKIE_MODE, "Cookie": "morket_refresh=not-a-token"}
    )
    assert response.status_code == 401
    value, attributes = _refresh_cookie(response)
    assert value == "" and attributes["max-age"] == "0"


async def test_without_the_header_nothing_changes(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.json()["data"]["tokens"]["refresh_token"]
    assert response.headers.get_list("set-cookie") == []


async def test_production_cookie_is_secure(database_url: str, settings: Settings) -> None:
    production = make_settings(
        database_url,
        morket_env="production",
        # Production refuses weak secrets (docs/CONVENTIONS.md): real random ones here.
        jwt_secret=secrets.token_urlsafe(48),
        encryption_master_key=secrets.token_hex(32),
    )
    app = create_app(production)
    try:
        async with _browser(app) as browser:
            registered = await browser.post(
                "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}, headers=COOKIE_MODE
            )
            assert registered.status_code == 201, registered.text
            _, attributes = _refresh_cookie(registered)
            assert "secure" in attributes
            refreshed = await browser.post("/api/v1/auth/refresh", headers=COOKIE_MODE)
            assert refreshed.status_code == 200, refreshed.text
    finally:
        await app.state.engine.dispose()
