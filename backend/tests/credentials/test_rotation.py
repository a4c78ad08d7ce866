"""Master-key rotation: mixed key versions stay readable, and the command moves every row to the new key."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from morket.cli import app as cli
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.credentials.rotation import RotationError, key_status, rotate_master_key
from morket.credentials.schemas import CredentialCreate
from morket.credentials.service import CredentialService, CredentialUnreadable
from tests.conftest import make_settings

OLD = "ab" * 32
NEW = "cd" * 32

pytestmark = pytest.mark.usefixtures("clean_db")


async def _seed(sessions: async_sessionmaker[AsyncSession], settings: Settings, count: int) -> dict[uuid.UUID, str]:
    """`count` credentials over a few workspaces; returns workspace -> the newest apollo key stored there."""
    expected: dict[uuid.UUID, str] = {}
    async with unit_of_work(sessions) as session:
        vault = CredentialService(session, settings)
        for n in range(count):
            ws = uuid.uuid4()
            await session.execute(
                text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'W', :slug)"),
                {"id": ws, "slug": f"w-{ws.hex}"},
            )
            key = f"apollo-key-{n:04d}-secret"
            await vault.create(ws, None, CredentialCreate(provider="apollo", api_key=key, extra={"n": n}))
            expected[ws] = key
    return expected


async def _read_all(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, expected: dict[uuid.UUID, str]
) -> None:
    async with unit_of_work(sessions) as session:
        vault = CredentialService(session, settings)
        for ws, key in expected.items():
            opened = await vault.get_decrypted(ws, "apollo")
            assert opened is not None and opened.api_key == key


async def test_rotation_reencrypts_everything_while_reads_continue(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    v1 = make_settings(database_url, encryption_master_key=OLD)
    expected = await _seed(sessions, v1, 25)
    # Step 1 of the procedure: the new key is current, the old one still readable.
    v2 = make_settings(
        database_url, encryption_master_key=NEW, encryption_key_version=2, encryption_previous_keys=f"1:{OLD}"
    )
    async with unit_of_work(sessions) as session:
        await CredentialService(session, v2).create(
            next(iter(expected)), None, CredentialCreate(provider="hunter", api_key="hunter-written-during-v2")
        )
    assert await key_status(sessions, v2) == {1: 25, 2: 1}

    reads = 0
    stop = asyncio.Event()

    async def keep_reading() -> None:
        nonlocal reads
        while not stop.is_set():
            await _read_all(sessions, v2, expected)
            reads += 1
            await asyncio.sleep(0)

    reader = asyncio.create_task(keep_reading())
    batches: list[int] = []
    report = await rotate_master_key(sessions, v2, batch_size=4, on_batch=batches.append)
    stop.set()
    await reader
    assert reads >= 1
    assert report.rotated == 25 and batches == [4, 4, 4, 4, 4, 4, 1]
    assert report.by_version == {2: 26}

    # Step 3: the old key is gone from the configuration; everything still opens.
    only_new = make_settings(database_url, encryption_master_key=NEW, encryption_key_version=2)
    await _read_all(sessions, only_new, expected)
    # And the old key alone opens nothing any more.
    async with unit_of_work(sessions) as session:
        with pytest.raises(CredentialUnreadable):
            await CredentialService(session, v1).get_decrypted(next(iter(expected)), "apollo")
    audited = await _count(sessions, "SELECT count(*) FROM credential_access_log WHERE action = 'rotated'")
    assert audited == 25
    # Running it again is a no-op.
    assert (await rotate_master_key(sessions, v2)).rotated == 0


async def test_rotation_refuses_when_a_key_version_is_missing(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    await _seed(sessions, make_settings(database_url, encryption_master_key=OLD), 2)
    forgot_old = make_settings(database_url, encryption_master_key=NEW, encryption_key_version=2)
    with pytest.raises(RotationError, match="version\\(s\\) 1"):
        await rotate_master_key(sessions, forgot_old)
    assert await key_status(sessions, forgot_old) == {1: 2}


async def _count(sessions: async_sessionmaker[AsyncSession], sql: str) -> int:
    async with unit_of_work(sessions) as session:
        return int((await session.execute(text(sql))).scalar_one())


def test_cli_rotate_master_key(database_url: str, settings: Settings, clean_db: None) -> None:
    """The command as an operator runs it (a sync test: the CLI owns its event loop)."""

    async def seed() -> None:
        from morket.core.db import make_engine, make_sessionmaker

        engine = make_engine(settings.database_url, pool_size=1)
        try:
            await _seed(make_sessionmaker(engine), make_settings(database_url, encryption_master_key=OLD), 3)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": "x" * 40,
        "ENCRYPTION_MASTER_KEY": NEW,
        "ENCRYPTION_KEY_VERSION": "2",
        "ENCRYPTION_PREVIOUS_KEYS": f"1:{OLD}",
    }
    runner = CliRunner()
    status = runner.invoke(cli, ["credentials", "key-status"], env=env)
    assert status.exit_code == 0, status.output
    assert "version 1: 3 credentials" in status.output
    result = runner.invoke(cli, ["credentials", "rotate-master-key", "--batch-size", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "done: 3 re-encrypted" in result.output and "{2: 3}" in result.output
    assert OLD not in result.output and NEW not in result.output
    missing = runner.invoke(cli, ["credentials", "rotate-master-key"], env={**env, "ENCRYPTION_KEY_VERSION": "3"})
    assert missing.exit_code == 1 and "not configured" in missing.output
