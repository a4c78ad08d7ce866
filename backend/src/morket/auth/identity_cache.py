"""A short-lived cache of who a request is, emptied in every API process the moment access changes.

Every authenticated request needs the caller's identity: the user, whether their login (token
family) is still live, and their role in the workspace of the URL. That is one query
(AuthRepository.identity); this cache lets a process skip it for a token it has just seen.

It may only do so while no change to access can slip past it, so an entry is dropped:

- in every process, when PostgreSQL announces a change: triggers on `users`, `token_families`,
  `memberships` and `workspaces` (migration 0013), and on `api_keys` (0060: revocation, role,
  scopes) `NOTIFY morket_identity` in the writing transaction, which PostgreSQL delivers at
  commit, before the writer's request can answer. Each process LISTENs on one dedicated
  connection and empties its cache on any notification.
- in the writing process at once, when one of its sessions commits a write to those tables
  (SQLAlchemy events below), so its own next request cannot race the notification.
- when the LISTEN connection is lost: the cache empties and stays off until it is back, since
  notifications sent meanwhile would be missed.
- after `ttl` seconds regardless: the safety net should a notification be lost some other way.

A lookup that misses notes the cache's generation before the query and stores its answer only
if no invalidation happened meanwhile, so a query that raced a revocation is never cached.
Only found identities are cached; an unknown or revoked login always asks the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import TextClause

from morket.apikeys.repository import ApiKeyIdentity
from morket.auth.repository import Identity
from morket.models import Membership, TokenFamily, User, Workspace

log = logging.getLogger("morket.identity_cache")

NOTIFY_CHANNEL = "morket_identity"
# Tables whose changes can end or narrow access (migration 0013 puts the NOTIFY triggers on them).
WATCHED_TABLES = frozenset({"users", "token_families", "memberships", "workspaces"})
_WATCHED_CLASSES = (User, TokenFamily, Membership, Workspace)
_RETRY_SECONDS = 1.0

Key = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]
_caches: weakref.WeakSet[IdentityCache] = weakref.WeakSet()


class IdentityCache:
    def __init__(
        self,
        database_url: str,
        ttl: float,
        *,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Key, tuple[Identity, float]] = {}
        # API keys by their SHA-256 (apikeys/service.py); emptied with everything else.
        self._api_keys: dict[str, tuple[ApiKeyIdentity, float]] = {}
        # Bumped by every invalidation: a lookup that started before one must not store its answer.
        self.generation = 0
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._started = False
        _caches.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        """Called by the app's lifespan: from now on the cache LISTENs (and reconnects) and is used.

        An app whose lifespan never ran (a tool, a test without it) never caches, so it never
        holds a LISTEN connection it would not close.
        """
        self._started = True
        await self.ready()

    async def ready(self) -> bool:
        """True when the cache may be used: LISTEN is established (connecting first if needed)."""
        if not self.enabled or not self._started:
            return False
        if self.listening:
            return True
        if self._clock() < self._retry_at:
            return False
        async with self._lock:
            if self.listening:
                return True
            self._retry_at = self._clock() + _RETRY_SECONDS
            try:
                conn = await asyncpg.connect(self.dsn)
                conn.add_termination_listener(self._lost)
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("could not LISTEN on %s; identities are not cached for now", NOTIFY_CHANNEL, exc_info=True)
                return False
            # Anything cached before this point could have missed a notification.
            self.invalidate()
            self._conn = conn
            return True

    def get(self, key: Key) -> Identity | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock() or not self.listening:
            self._entries.pop(key, None)
            return None
        return entry[0]

    def put(self, key: Key, identity: Identity, generation: int) -> None:
        """Store an answer read while the cache was at `generation`, unless it was invalidated since."""
        if generation != self.generation or not self.listening:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (identity, self._clock() + self.ttl)

    def get_api_key(self, key_hash: str) -> ApiKeyIdentity | None:
        entry = self._api_keys.get(key_hash)
        if entry is None:
            return None
        if entry[1] <= self._clock() or not self.listening:
            self._api_keys.pop(key_hash, None)
            return None
        return entry[0]

    def put_api_key(self, key_hash: str, key: ApiKeyIdentity, generation: int) -> None:
        if generation != self.generation or not self.listening:
            return
        if len(self._api_keys) >= self.max_entries:
            self._api_keys.clear()
        self._api_keys[key_hash] = (key, self._clock() + self.ttl)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._api_keys.clear()

    def _notified(self, *_: Any) -> None:
        self.invalidate()

    def _lost(self, *_: Any) -> None:
        log.warning("the LISTEN connection of the identity cache was lost; not caching until it is back")
        self._conn = None
        self.invalidate()

    async def barrier(self) -> None:
        """Wait until notifications committed before this call have (in practice) been handled.

        A round trip on the LISTEN connection: an idle listening backend forwards a notification
        as soon as the commit signals it, so it precedes the reply to this statement on the same
        socket, and asyncpg dispatches it before the reply. Not a protocol guarantee (a backend
        busy at that moment forwards it when it next waits for input), so the cache's correctness
        never rests on it; tests use it to let a write's own echo land before they cache.
        """
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.execute("SELECT 1")
            await asyncio.sleep(0)  # asyncpg hands notifications to the loop (call_soon)

    async def close(self) -> None:
        async with self._lock:
            self._started = False
            conn, self._conn = self._conn, None
            self.invalidate()
            if conn is not None and not conn.is_closed():
                await conn.close()


def invalidate_local() -> None:
    """Empty every identity cache of this process (its own writes, before the NOTIFY arrives)."""
    for cache in list(_caches):
        cache.invalidate()


# -- this process's own writes ---------------------------------------------------------------

_FLAG = "morket_identity_changed"
_WRITE_WORDS = ("insert", "update", "delete", "truncate")


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if any(isinstance(obj, _WATCHED_CLASSES) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        sql = statement.text.lower()
        if any(word in sql for word in _WRITE_WORDS) and any(table in sql for table in WATCHED_TABLES):
            state.session.info[_FLAG] = True
        return
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(getattr(statement, "table", None), "name", None)
        if table is None or table in WATCHED_TABLES:
            state.session.info[_FLAG] = True


def note_access_change(session: Session | Any) -> None:
    """Empty this process's caches when `session` commits: for writes the hooks above do not see
    (an API key's revocation: `api_keys` is not watched, so recording a key's use empties nothing)."""
    sync = getattr(session, "sync_session", session)
    sync.info[_FLAG] = True


# A flag left by a rolled-back write only costs one needless invalidation at the next commit.
@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        invalidate_local()
