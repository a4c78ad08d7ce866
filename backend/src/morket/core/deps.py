"""Request-scoped dependencies shared by every module: settings and the unit-of-work session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import discard_after_commit, run_after_commit
from morket.core.errors import AppError


async def get_settings_dep(request: Request) -> Settings:
    # async: FastAPI runs a plain `def` dependency in a thread, a costly hop for a lookup.
    settings: Settings = request.app.state.settings
    return settings


# GETs that write (every read of a credential by an internal service is audited) keep a transaction.
_WRITING_READS = ("/api/v1/internal/",)
# GETs that need a transaction to read: typeahead plans its statements under `SET LOCAL
# enable_seqscan = off` (search/backends/postgres.py), which a session without one ignores.
_TRANSACTIONAL_READS = ("/search/suggest",)


def _is_read(request: Request) -> bool:
    path = request.url.path
    return (
        request.method in ("GET", "HEAD")
        and not path.startswith(_WRITING_READS)
        and not path.endswith(_TRANSACTIONAL_READS)
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error.

    Reads (GET, HEAD) get no transaction at all: a session in autocommit that refuses writes
    (core.db.make_read_sessionmaker), which saves the BEGIN and COMMIT round trips.
    The transaction boundary is here and only here: routes never commit. Work that must see
    the committed rows (start a job's workflow, signal a cancel) is registered with
    `core.db.after_commit` and runs after the commit, before the response is sent.
    An AppError with `persist=True` (e.g. refresh-token reuse, which must revoke the family even
    though the request fails) commits what was flushed before it was raised.
    """
    state = request.app.state
    read_sessions: async_sessionmaker[AsyncSession] | None = getattr(state, "read_sessions", None)
    sessions: async_sessionmaker[AsyncSession] = (
        read_sessions if read_sessions is not None and _is_read(request) else state.sessions
    )
    async with sessions() as session:
        try:
            yield session
        except AppError as exc:
            discard_after_commit(session)  # the request failed: what it meant to start does not exist
            if getattr(exc, "persist", False):
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        else:
            await session.commit()
            await run_after_commit(session)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
