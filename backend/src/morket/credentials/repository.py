"""Every SQL statement of the credential vault."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import Credential, CredentialAccessLog


class CredentialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, credential: Credential) -> None:
        self.session.add(credential)
        await self.session.flush()

    async def list_for_workspace(self, workspace_id: uuid.UUID) -> list[Credential]:
        stmt = (
            select(Credential)
            .where(Credential.workspace_id == workspace_id)
            .order_by(Credential.provider, Credential.created_at.desc(), Credential.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(
        self, workspace_id: uuid.UUID, credential_id: uuid.UUID, *, for_update: bool = False
    ) -> Credential | None:
        stmt = select(Credential).where(Credential.workspace_id == workspace_id, Credential.id == credential_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest_for_provider(self, workspace_id: uuid.UUID, provider: str) -> Credential | None:
        stmt = (
            select(Credential)
            .where(Credential.workspace_id == workspace_id, Credential.provider == provider)
            .order_by(Credential.created_at.desc(), Credential.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest_named(self, workspace_id: uuid.UUID, provider: str, name: str) -> Credential | None:
        stmt = (
            select(Credential)
            .where(Credential.workspace_id == workspace_id, Credential.provider == provider, Credential.name == name)
            .order_by(Credential.created_at.desc(), Credential.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete(self, credential: Credential) -> None:
        await self.session.delete(credential)
        await self.session.flush()

    async def lock_batch_not_under(self, version: int, batch_size: int) -> list[Credential]:
        """Up to `batch_size` rows sealed under another key version, locked for this transaction.

        SKIP LOCKED: a row held by a concurrent delete is left for the next batch.
        """
        stmt = (
            select(Credential)
            .where(Credential.key_version != version)
            .order_by(Credential.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def count_by_version(self) -> dict[int, int]:
        stmt = select(Credential.key_version, func.count()).group_by(Credential.key_version)
        return {int(version): int(count) for version, count in (await self.session.execute(stmt)).all()}

    async def add_access_log(self, entry: CredentialAccessLog) -> None:
        self.session.add(entry)
        await self.session.flush()
