"""Engine, sessions and the declarative base. One transaction per unit of work; reads need none."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, UOWTransaction

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int | None = None) -> AsyncEngine:
    # A pool as large as the load keeps its connections: overflow connections are closed on
    # return, and each new one pays the connect, TLS probe and statement preparation again.
    # No pool_pre_ping: it costs a round trip per checkout (a quarter of an authenticated read).
    # A server restart closes our sockets, and asyncpg notices that locally; the checkout hook
    # below hands such a connection back as dead and the pool opens a fresh one instead.
    overflow = pool_size // 2 if max_overflow is None else max_overflow
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=overflow, pool_recycle=1800)
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    raw = getattr(dbapi_connection, "_connection", None)  # the asyncpg connection under the adapter
    if raw is not None and raw.is_closed():
        raise DisconnectionError("connection closed by the server")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlySessionError(RuntimeError):
    """A read session (no transaction) was asked to write: give the route a transactional session."""


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads: autocommit, so no BEGIN/COMMIT round trips; any write raises.

    Each statement sees the latest committed data on its own. Every write refuses to run here,
    since without a transaction several writes would not be atomic.
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=_ReadSession,
    )


class _ReadSession(Session):
    """The sync session under read sessions; the write guards below listen on this class only."""


@event.listens_for(_ReadSession, "do_orm_execute")
def _refuse_write_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError(f"a read-only session was asked to run {state.statement.__class__.__name__}")


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("a read-only session was asked to write rows")


AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "morket.after_commit"
_log = logging.getLogger("morket.db")


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the session's transaction has committed (never if it rolls back).

    The one place where work that must only see committed rows happens: starting a workflow
    for a job, signalling a cancel. The request's session dependency (and `unit_of_work`) own
    the commit; routes and services never call `session.commit()` themselves. A hook that
    fails is logged, not raised: the transaction is already committed, and what the hook does
    must have a sweep behind it (the reconciler starts queued jobs and re-signals cancels).
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)


async def run_after_commit(session: AsyncSession) -> None:
    hooks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    for hook in hooks:
        try:
            await hook()
        except Exception:  # noqa: BLE001 - committed already: a failing hook is logged, its sweep retries
            _log.exception("an after-commit hook failed")


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends and rolls back on error;
    `after_commit` hooks run after the commit."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        await run_after_commit(session)
