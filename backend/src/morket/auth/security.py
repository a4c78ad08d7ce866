"""Passwords (bcrypt), access tokens (HS256 JWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import bcrypt
import jwt

from morket.core.config import Settings

# bcrypt only looks at the first 72 bytes; longer passwords are pre-hashed so no byte is ignored.
_BCRYPT_LIMIT = 72


def _password_bytes(password: str) -> bytes:
    raw = password.encode()
    if len(raw) > _BCRYPT_LIMIT:
        raw = hashlib.sha256(raw).hexdigest().encode()
    return raw


async def hash_password(password: str, rounds: int) -> str:
    def work() -> str:
        return bcrypt.hashpw(_password_bytes(password), bcrypt.gensalt(rounds)).decode()

    return await anyio.to_thread.run_sync(work)


async def verify_password(password: str, password_hash: str) -> bool:
    def work() -> bool:
        try:
            return bcrypt.checkpw(_password_bytes(password), password_hash.encode())
        except ValueError:
            return False

    return await anyio.to_thread.run_sync(work)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    # The login (refresh-token family) the token belongs to: revoking it ends the token early.
    family_id: uuid.UUID
    jti: str
    expires_at: datetime


def issue_access_token(
    settings: Settings, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "fam": str(family_id),
        "iat": int(issued.timestamp()),
        "exp": int((issued + settings.access_ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


def decode_access_token(settings: Settings, token: str) -> AccessClaims | None:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "fam", "iat", "exp", "jti", "iss", "aud"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            family_id=uuid.UUID(str(payload["fam"])),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        return None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
