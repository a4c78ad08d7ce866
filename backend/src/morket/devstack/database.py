"""Create databases and apply migrations programmatically (used by `morket db`, `make run`, tests)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from morket.core.config import to_async_url

BACKEND_DIR = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    ini = Path(os.environ.get("MORKET_ALEMBIC_INI", BACKEND_DIR / "alembic.ini"))
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "migrations"))
    config.set_main_option("sqlalchemy.url", to_async_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def _plain_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(to_async_url(url)).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _create(url: str, name: str, drop_first: bool) -> None:
    conn = await asyncpg.connect(_plain_dsn(url, "postgres"))
    try:
        if drop_first:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def ensure_database(url: str, *, drop_first: bool = False) -> str:
    """Create the database named in `url` if it is missing; returns the URL."""
    name = make_url(to_async_url(url)).database
    if not name:
        raise ValueError("the database URL names no database")
    asyncio.run(_create(url, name, drop_first))
    return url


async def drop_database(url: str) -> None:
    name = make_url(to_async_url(url)).database
    conn = await asyncpg.connect(_plain_dsn(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def with_database(url: str, name: str) -> str:
    return make_url(to_async_url(url)).set(database=name).render_as_string(hide_password=False)
