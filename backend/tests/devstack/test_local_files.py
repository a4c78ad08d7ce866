"""Local state is private: .morket 0700, secrets 0600 from the start, a dev cluster that trusts nobody."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from morket.devstack.local import local_secrets, state_dir
from morket.devstack.ports import free_port
from morket.devstack.postgres import PostgresUnavailable, PrivatePostgres, find_bindir


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most careless umask: anything not explicitly private ends up world-readable."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_dir_and_secrets_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None) -> None:
    root = tmp_path / "state"
    root.mkdir(mode=0o755)  # as older checkouts left it
    monkeypatch.setenv("MORKET_STATE_DIR", str(root))
    values = local_secrets()
    assert _mode(state_dir()) == 0o700
    secrets_file = root / "secrets.env"
    assert _mode(secrets_file) == 0o600
    assert len(values["POSTGRES_PASSWORD"]) >= 24 and len(values["ENCRYPTION_MASTER_KEY"]) == 64
    assert [p.name for p in root.iterdir()] == ["secrets.env"]  # no temporary file left behind
    # A second run keeps the secrets, and tightens a file someone widened.
    secrets_file.chmod(0o644)
    assert local_secrets() == values
    assert _mode(secrets_file) == 0o600


def test_secrets_file_never_exists_with_a_wider_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    # Each new secret is written to a fresh private file renamed into place: an inotify-free way to
    # see it is that the inode changes and the mode of the new one is 0600 (the old code wrote in
    # place, then chmod-ed).
    monkeypatch.setenv("MORKET_STATE_DIR", str(tmp_path))
    (tmp_path / "secrets.env").write_text("JWT_SECRET=short\n")
    (tmp_path / "secrets.env").chmod(0o666)
    before = (tmp_path / "secrets.env").stat().st_ino
    local_secrets()
    after = (tmp_path / "secrets.env").stat()
    assert after.st_ino != before and stat.S_IMODE(after.st_mode) == 0o600


def _postgres_available() -> bool:
    try:
        find_bindir()
        return True
    except PostgresUnavailable:
        return False


async def _can_connect(port: int, password: str | None) -> bool:
    try:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", password=password, database="postgres"
        )
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        return False
    await conn.close()
    return True


@pytest.mark.skipif(not _postgres_available(), reason="PostgreSQL binaries are not installed")
async def test_private_cluster_requires_its_password(tmp_path: Path) -> None:
    fresh = PrivatePostgres(tmp_path / "fresh", free_port(), durable=False, password="pw-" + "k" * 30)
    fresh.start()
    try:
        assert not await _can_connect(fresh.port, None)
        assert not await _can_connect(fresh.port, "wrong")
        assert await _can_connect(fresh.port, fresh.password)
        assert fresh.password is not None and fresh.password in fresh.url
    finally:
        fresh.stop()


@pytest.mark.skipif(not _postgres_available(), reason="PostgreSQL binaries are not installed")
async def test_a_trusting_cluster_from_before_gets_the_password(tmp_path: Path) -> None:
    port = free_port()
    old = PrivatePostgres(tmp_path / "old", port, durable=False)
    old.start()
    assert await _can_connect(port, None)  # what clusters made before this change allowed
    old.stop()
    upgraded = PrivatePostgres(tmp_path / "old", port, durable=False, password="pw-" + "u" * 30)
    upgraded.start()
    try:
        assert not await _can_connect(port, None)
        assert await _can_connect(port, upgraded.password)
    finally:
        upgraded.stop()
