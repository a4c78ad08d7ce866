from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.config import Settings
from tests.factories import PASSWORD, register

pytestmark = pytest.mark.usefixtures("clean_db")


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    user = await register(client, email="Jane.Doe@Example.com")
    assert user.email == "Jane.Doe@Example.com"
    login = await client.post("/api/v1/auth/login", json={"email": "jane.doe@example.com", "password": PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert body["success"] is True and body["error"] is None
    tokens = body["data"]["tokens"]
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["data"]["email"] == "jane.doe@example.com"


async def test_access_token_claims(client: httpx.AsyncClient, settings: Settings) -> None:
    user = await register(client)
    claims = jwt.decode(
        user.access_token, settings.jwt_secret, algorithms=["HS256"], audience="morket-api", issuer="morket"
    )
    assert {"sub", "iat", "exp", "jti", "iss", "aud"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == user.id


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    user = await register(client)
    again = await client.post("/api/v1/auth/register", json={"email": user.email.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


async def test_login_errors_identical_for_unknown_email_and_wrong_password(client: httpx.AsyncClient) -> None:
    user = await register(client)
    wrong = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "not-the-password"})
    unknown = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


async def test_refresh_rotates_and_reuse_revokes_family(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    pair1 = first.json()["data"]
    assert pair1["refresh_token"] != user.refresh_token
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair1["refresh_token"]})
    assert second.status_code == 200
    pair2 = second.json()["data"]

    # The first token comes back: theft. The whole family dies, including the newest token.
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"
    newest = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair2["refresh_token"]})
    assert newest.status_code == 401
    assert newest.json()["error"]["code"] == "refresh_token_revoked"


async def test_reuse_does_not_touch_other_logins(client: httpx.AsyncClient) -> None:
    user = await register(client)
    other_login = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    other = other_login.json()["data"]["tokens"]
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first.json()["data"]["refresh_token"]})
    assert second.status_code == 200
    # The first login's original token comes back after two rotations: its family is revoked...
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"
    revoked = await client.get("/api/v1/auth/me", headers=user.headers)
    assert revoked.status_code == 401
    # ...and the other login of the same user goes on: its access token and its refresh token work.
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert me.status_code == 200 and me.json()["data"]["id"] == user.id
    still_ok = await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert still_ok.status_code == 200
    assert still_ok.json()["data"]["refresh_token"] not in {other["refresh_token"], user.refresh_token}


async def test_logout_revokes_refresh_token(client: httpx.AsyncClient) -> None:
    user = await register(client)
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert out.status_code == 200 and out.json()["data"]["logged_out"] is True
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert after.status_code == 401
    unknown = await client.post("/api/v1/auth/logout", json={"refresh_token": "nope"})
    assert unknown.status_code == 401


async def test_expired_refresh_token_is_401(client: httpx.AsyncClient, session: AsyncSession) -> None:
    user = await register(client)
    await session.execute(text("UPDATE refresh_tokens SET expires_at = now() - interval '1 minute'"))
    await session.commit()
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "refresh_token_expired"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s, t: jwt.encode({**t, "exp": int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())}, s),
        lambda s, t: jwt.encode({**t, "aud": "someone-else"}, s),
        lambda s, t: jwt.encode({**t, "iss": "evil"}, s),
        lambda s, t: jwt.encode(t, "another-secret-that-is-long-enough-000000"),
        lambda s, t: jwt.encode({k: v for k, v in t.items() if k != "jti"}, s),
        lambda s, t: "not.a.jwt",
    ],
    ids=["expired", "audience", "issuer", "signature", "missing-jti", "garbage"],
)
async def test_bad_access_tokens_are_401(client: httpx.AsyncClient, settings: Settings, mutate: object) -> None:
    user = await register(client)
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    token = mutate(settings.jwt_secret, claims)  # type: ignore[operator]
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["success"] is False


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/workspaces")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"email": "not-an-email", "password": "longenough"},
        {"email": "a@example.com", "password": "short"},
        {"email": "a@example.com", "password": "longenough", "admin": True},
        {"email": ["a@example.com"], "password": "longenough"},
    ],
)
async def test_register_validation_is_422_without_echoing_password(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    response = await client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "validation_error"
    assert "longenough" not in response.text


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["success"] is False
