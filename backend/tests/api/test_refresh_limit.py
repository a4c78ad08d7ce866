"""The refresh endpoint's own rate limit: per login, apart from the password endpoints' 5/min per address.

A page load renews the access token; ten reloads a minute must not sign a user out nor use up
the password attempts of everyone behind the same address. Guessing refresh tokens still counts
against the address's auth bucket (docs/auth.md).
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from morket.app import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, register

pytestmark = pytest.mark.usefixtures("clean_db")


def _client(app: FastAPI, client_ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(client_ip, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _login(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["tokens"]["refresh_token"]
    return token


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refreshes_have_their_own_limit_per_login(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_auth_per_minute=3, rate_limit_refresh_per_minute=4))
    async with _client(app, "10.0.0.9") as setup, _client(app, "10.0.0.1") as browser:
        user = await register(setup)
        token = await _login(browser, user.email)  # 1 of the address's 3 auth attempts

        # Four refreshes of one login: more than the auth bucket has left, all fine.
        for _ in range(4):
            response = await _refresh(browser, token)
            assert response.status_code == 200, response.text
            token = response.json()["data"]["refresh_token"]
        limited = await _refresh(browser, token)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 120

        # The refused refresh did not rotate the token nor end the login: it works once the
        # login's bucket has room again (another login shows the buckets are per login).
        other = await _login(browser, user.email)  # 2 of 3
        assert (await _refresh(browser, other)).status_code == 200

        # The refreshes used none of the address's password attempts: one is left.
        wrong = await browser.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
        assert wrong.status_code == 401
        right = await browser.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
        assert right.status_code == 429
    await app.state.engine.dispose()


async def test_refresh_with_a_token_never_issued_counts_as_an_auth_attempt(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_auth_per_minute=3, rate_limit_refresh_per_minute=100))
    guesser, bystander = _client(app, "10.0.0.2"), _client(app, "10.0.0.3")
    async with _client(app, "10.0.0.9") as setup, guesser, bystander:
        user = await register(setup)
        codes = [(await _refresh(guesser, f"guess-{i}" * 8)).status_code for i in range(2)]
        no_token = await guesser.post("/api/v1/auth/refresh", json={})
        assert codes == [401, 401] and no_token.status_code == 401
        blocked = await _refresh(guesser, "guess-again" * 8)
        assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
        # The same bucket as the password endpoints: the address cannot log in either now.
        login = await guesser.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
        assert login.status_code == 429
        # Another address is untouched.
        assert (await _refresh(bystander, await _login(bystander, user.email))).status_code == 200
    await app.state.engine.dispose()
