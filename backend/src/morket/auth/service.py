"""Registration, login, refresh-token rotation with reuse detection, logout, and who a request is.

A login is a token family: logout and reuse detection revoke the family, and every access token
names its family (`fam`), so the request check ends those access tokens at once, not 15 minutes later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from morket.auth import security
from morket.auth.identity_cache import IdentityCache
from morket.auth.repository import AuthRepository, Identity
from morket.auth.schemas import TokenPair
from morket.core.config import Settings
from morket.core.errors import Conflict, Unauthorized
from morket.models import RefreshToken, User


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    """A real hash to check against when the email is unknown, so both paths cost the same."""
    return bcrypt.hashpw(b"morket-dummy-password", bcrypt.gensalt(rounds)).decode()


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class TokenReuseDetected(Unauthorized):
    """A used refresh token came back: the family is revoked, and that must be committed."""

    code = "refresh_token_reused"
    persist = True


_INVALID_TOKEN = "Invalid or expired access token."


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings, identities: IdentityCache | None = None) -> None:
        self.repo = AuthRepository(session)
        self.settings = settings
        self.identities = identities

    async def register(self, email: str, password: str, name: str | None) -> tuple[User, TokenPair]:
        email = email.lower()
        if await self.repo.user_by_email(email) is not None:
            raise Conflict("An account with this email already exists.", code="email_taken")
        password_hash = await security.hash_password(password, self.settings.bcrypt_rounds)
        try:
            user = await self.repo.add_user(User(email=email, name=name, password_hash=password_hash))
        except IntegrityError:
            raise Conflict("An account with this email already exists.", code="email_taken") from None
        return user, await self._issue_pair(user.id, family_id=await self.repo.add_family(user.id))

    async def login(self, email: str, password: str) -> tuple[User, TokenPair]:
        user = await self.repo.user_by_email(email.lower())
        valid = await security.verify_password(
            password, user.password_hash if user else _dummy_hash(self.settings.bcrypt_rounds)
        )
        if user is None or not valid:
            raise InvalidCredentials("Invalid email or password.")
        return user, await self._issue_pair(user.id, family_id=await self.repo.add_family(user.id))

    async def family_of(self, presented: str) -> uuid.UUID | None:
        """The login of a presented refresh token (None for a token we never issued)."""
        return await self.repo.family_of_refresh_token(security.hash_refresh_token(presented))

    async def refresh(self, presented: str) -> TokenPair:
        now = datetime.now(UTC)
        row = await self.repo.refresh_token_for_update(security.hash_refresh_token(presented))
        if row is None:
            raise Unauthorized("Invalid refresh token.", code="invalid_refresh_token")
        if row.used_at is not None:
            if await self._in_grace(row.family_id, row.used_at, now):
                return await self._issue_pair(row.user_id, family_id=row.family_id)
            await self.repo.revoke_family(row.family_id, now)
            raise TokenReuseDetected("This refresh token was already used; every session of that login is revoked.")
        if row.revoked_at is not None:
            raise Unauthorized("This refresh token has been revoked.", code="refresh_token_revoked")
        if row.expires_at <= now:
            raise Unauthorized("This refresh token has expired.", code="refresh_token_expired")
        row.used_at = now
        return await self._issue_pair(row.user_id, family_id=row.family_id)

    async def logout(self, presented: str) -> None:
        """End the login the token belongs to: its refresh tokens and its access tokens."""
        row = await self.repo.refresh_token_for_update(security.hash_refresh_token(presented))
        if row is None:
            raise Unauthorized("Invalid refresh token.", code="invalid_refresh_token")
        await self.repo.revoke_family(row.family_id, datetime.now(UTC))

    async def identity(self, claims: security.AccessClaims, workspace_id: uuid.UUID | None = None) -> Identity:
        """The caller of a decoded access token, with their role in `workspace_id`, in one query.

        With an identity cache (the API's), a live identity seen moments ago is not asked again;
        see auth/identity_cache.py for how revocations and role changes empty it in every process.
        """
        cache = self.identities
        key = (claims.user_id, claims.family_id, workspace_id)
        if cache is not None and await cache.ready():
            generation = cache.generation
            cached = cache.get(key)
            if cached is not None:
                return cached
        else:
            cache = None
        identity = await self.repo.identity(claims.user_id, claims.family_id, workspace_id)
        if identity is None:
            raise Unauthorized(_INVALID_TOKEN, code="invalid_token")
        # Not a member: not cached, so a new membership is seen at once without a notification.
        if cache is not None and (workspace_id is None or identity.role is not None):
            cache.put(key, identity, generation)
        return identity

    @staticmethod
    def decode_with(settings: Settings, token: str) -> security.AccessClaims:
        """Check an access token's signature and claims; the database check is `identity`."""
        claims = security.decode_access_token(settings, token)
        if claims is None:
            raise Unauthorized(_INVALID_TOKEN, code="invalid_token")
        return claims

    async def _in_grace(self, family_id: uuid.UUID, used_at: datetime, now: datetime) -> bool:
        """A used token is forgiven briefly while it is the family's latest rotation (two tabs at once)."""
        grace = timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
        if not grace or now - used_at > grace:
            return False
        return await self.repo.is_latest_use_of_live_family(family_id, used_at)

    async def _issue_pair(self, user_id: uuid.UUID, family_id: uuid.UUID) -> TokenPair:
        now = datetime.now(UTC)
        refresh = security.new_refresh_token()
        await self.repo.add_refresh_token(
            RefreshToken(
                user_id=user_id,
                family_id=family_id,
                token_hash=security.hash_refresh_token(refresh),
                expires_at=now + self.settings.refresh_ttl,
            )
        )
        return TokenPair(
            access_token=security.issue_access_token(self.settings, user_id, family_id, now),
            refresh_token=refresh,
            expires_in=int(self.settings.access_ttl.total_seconds()),
        )
