"""API keys' rules: who may make which key, what a presented key may do, and when its use is recorded.

Invariants (tests in tests/apikeys/):
- a key is shown once; only its SHA-256 is stored;
- a key acts in its own workspace only (another workspace answers 404, like a non-member);
- its role is at most member and never above its creator's role, now (it is re-read with the key);
  a key whose creator left the workspace stops working;
- every route needs one scope (`required_scope`), checked after the role;
- a revocation reaches every API process at its commit (NOTIFY, as for logins).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.apikeys.repository import ApiKeyIdentity, ApiKeyRepository
from morket.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from morket.apikeys.tokens import PresentedApiKey, display_prefix, hash_api_key, new_api_key
from morket.auth.identity_cache import IdentityCache, note_access_change
from morket.core.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from morket.models import ApiKey, ApiKeyScope, Role

# The highest role a key can have: administering the workspace stays with people.
MAX_KEY_ROLE = Role.MEMBER

# POSTs that change nothing: previews, a stream token, an export of a view.
_READ_POSTS = ("/runs/preview", "/dedupe/preview", "/events/token", "/export")
# Routes that spend credits on providers.
_ENRICH_POSTS = ("/enrichment-jobs", "/runs", "/enrichment-jobs/{job_id}/cancel")


def required_scope(method: str, route_path: str) -> ApiKeyScope:
    """The one scope a route needs: billing for billing, enrich to start or cancel paid runs,
    read for reads (and POSTs that only compute an answer), write for every other change."""
    if "/billing" in route_path:
        return ApiKeyScope.BILLING
    method = method.upper()
    if method == "POST" and route_path.endswith(_ENRICH_POSTS):
        return ApiKeyScope.ENRICH
    if method in ("GET", "HEAD", "OPTIONS") or (method == "POST" and route_path.endswith(_READ_POSTS)):
        return ApiKeyScope.READ
    return ApiKeyScope.WRITE


class ApiKeyService:
    def __init__(self, session: AsyncSession, identities: IdentityCache | None = None) -> None:
        self.session = session
        self.repo = ApiKeyRepository(session)
        self.identities = identities

    async def create(
        self, workspace_id: uuid.UUID, actor_id: uuid.UUID, actor_role: Role, body: ApiKeyCreate, default_limit: int
    ) -> ApiKeyCreated:
        if not MAX_KEY_ROLE.at_least(body.role):
            raise Unprocessable(
                f"An API key's role is viewer or member, not {body.role.value}.", code="api_key_role_too_high"
            )
        if not actor_role.at_least(body.role):
            raise Forbidden("An API key cannot have a higher role than its creator.", code="api_key_role_too_high")
        key = new_api_key()

        row = await self.repo.add(
            ApiKey(
                workspace_id=workspace_id,
                name=body.name,
                prefix=display_prefix(key),
                key_hash=hash_api_key(key),
                role=body.role,
                scopes=list(body.scopes),
                rate_limit_per_minute=body.rate_limit_per_minute or default_limit,
                created_by=actor_id,
            )
        )
        return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)

    async def list(self, workspace_id: uuid.UUID, *, include_revoked: bool) -> list[ApiKeyOut]:
        keys = await self.repo.list(workspace_id, include_revoked=include_revoked)
        return [ApiKeyOut.model_validate(k) for k in keys]

    async def revoke(self, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKeyOut:
        """Revoke a key (again is a no-op); effective in every process when this transaction commits."""
        row = await self.repo.revoke(workspace_id, key_id, datetime.now(UTC))
        if row is None:
            row = await self.repo.get(workspace_id, key_id)
            if row is None:
                raise NotFound("API key not found.")
            return ApiKeyOut.model_validate(row)
        note_access_change(self.session)
        return ApiKeyOut.model_validate(row)

    async def authenticate(self, presented: PresentedApiKey) -> ApiKeyIdentity:
        """The live key behind a bearer `mk_...`, from the identity cache when it was just seen."""
        cache = self.identities
        key_hash = presented.key_hash
        generation = 0
        if cache is not None and await cache.ready():
            generation = cache.generation
            cached = cache.get_api_key(key_hash)
            if cached is not None:
                return cached
        else:
            cache = None
        found = await self.repo.by_hash(key_hash)
        if found is None:
            raise Unauthorized("Invalid API key.", code="invalid_api_key")
        if found.revoked_at is not None:
            raise Unauthorized("This API key was revoked.", code="api_key_revoked")
        if found.role is None:
            raise Unauthorized("This API key's creator is no longer in its workspace.", code="api_key_inactive")
        if cache is not None:
            cache.put_api_key(key_hash, found, generation)
        return found

    async def authorize(
        self, presented: PresentedApiKey, workspace_id: uuid.UUID, minimum: Role, scope: ApiKeyScope
    ) -> tuple[ApiKeyIdentity, Role]:
        """The key and the role it acts with here, or the error: 404 elsewhere, 403 role or scope."""
        key = await self.authenticate(presented)
        role = key.role
        if key.workspace_id != workspace_id or role is None:
            raise NotFound("Workspace not found.")
        if not role.at_least(minimum):
            raise Forbidden(
                f"This action needs the {minimum.value} role or higher; this API key is {role.value}.",
                code="forbidden",
            )
        if scope not in key.scopes:
            raise Forbidden(
                f"This API key lacks the '{scope.value}' scope this action needs.",
                code="api_key_scope_missing",
                details={"required_scope": scope.value, "scopes": sorted(s.value for s in key.scopes)},
            )
        return key, role


class ApiKeyUsage:
    """Records `last_used_at` at most once a minute per key and process (and once a minute in SQL).

    Reads run on a read-only session, so the write has a short transaction of its own; it is one
    statement per key per minute, not one per request.
    """

    INTERVAL_SECONDS = 60.0

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._clock = clock
        self._written: dict[uuid.UUID, float] = {}

    def due(self, key_id: uuid.UUID) -> bool:
        last = self._written.get(key_id)
        return last is None or self._clock() - last >= self.INTERVAL_SECONDS

    async def record(self, key_id: uuid.UUID) -> None:
        if not self.due(key_id):
            return
        self._written[key_id] = self._clock()
        if len(self._written) > 100_000:
            self._written.clear()
        async with self._sessions() as session:
            await ApiKeyRepository(session).touch(key_id)
            await session.commit()
