"""Master-key rotation: re-encrypt every credential under the current key, batch by batch.

Each batch is its own short transaction holding row locks on at most `batch_size` credentials, so
the API (which knows every configured key version) keeps serving reads and writes throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.credentials.crypto import CredentialCipher
from morket.credentials.schemas import RotationReport
from morket.credentials.service import CredentialService


class RotationError(RuntimeError):
    pass


async def key_status(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> dict[int, int]:
    """Number of credentials sealed under each key version."""
    async with unit_of_work(sessions) as session:
        return await CredentialService(session, settings).count_by_version()


async def rotate_master_key(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int], None] | None = None,
    max_idle_rounds: int = 20,
) -> RotationReport:
    cipher = CredentialCipher.from_settings(settings)
    before = await key_status(sessions, settings)
    missing = sorted(v for v in before if v not in cipher.versions)
    if missing:
        raise RotationError(
            f"{sum(before[v] for v in missing)} credentials are sealed under key version(s) "
            f"{', '.join(map(str, missing))}, which are not configured: add them to ENCRYPTION_PREVIOUS_KEYS."
        )
    rotated = 0
    idle = 0
    while True:
        async with unit_of_work(sessions) as session:
            done = await CredentialService(session, settings).rotate_batch(batch_size)
        rotated += done
        if done:
            idle = 0
            if on_batch is not None:
                on_batch(done)
            continue
        # An empty batch: finished, or the remaining rows are locked by a concurrent request.
        status = await key_status(sessions, settings)
        if all(version == cipher.current_version for version in status):
            return RotationReport(rotated=rotated, by_version=status)
        idle += 1
        if idle > max_idle_rounds:
            raise RotationError("Some credentials stayed locked by other transactions; run the command again.")
        await asyncio.sleep(0.25)
