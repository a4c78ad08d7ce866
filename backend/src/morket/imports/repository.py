"""Every SQL statement of the import module: the import rows, the uploaded file's chunks, the rejects."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ImportStatus, TableImport, TableImportChunk, TableImportReject


class ImportsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, item: TableImport) -> TableImport:
        self.session.add(item)
        await self.session.flush()
        return item

    async def get(self, workspace_id: uuid.UUID, import_id: uuid.UUID, *, lock: bool = False) -> TableImport | None:
        stmt = sa.select(TableImport).where(TableImport.id == import_id, TableImport.workspace_id == workspace_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_for_worker(self, import_id: uuid.UUID, *, lock: bool = False) -> TableImport | None:
        """By id alone, for the worker: the row carries its workspace, which every later call uses."""
        stmt = sa.select(TableImport).where(TableImport.id == import_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_imports(self, workspace_id: uuid.UUID, offset: int, limit: int) -> tuple[list[TableImport], int]:
        where = TableImport.workspace_id == workspace_id
        total = (await self.session.execute(sa.select(sa.func.count()).where(where))).scalar_one()
        stmt = sa.select(TableImport).where(where).order_by(TableImport.created_at.desc(), TableImport.id)
        items = (await self.session.execute(stmt.offset(offset).limit(limit))).scalars().all()
        return list(items), int(total)

    async def queued_before(self, cutoff: Any) -> list[TableImport]:
        stmt = sa.select(TableImport).where(TableImport.status == ImportStatus.QUEUED, TableImport.updated_at < cutoff)
        return list((await self.session.execute(stmt)).scalars().all())

    async def expire_uploads(self, cutoff: Any, message: str, limit: int) -> list[uuid.UUID]:
        """Mark uploads never committed and untouched (upload, preview) since `cutoff` failed; their ids.

        A commit locks the import row and re-checks its status, so an upload is either committed
        or expired, never both.
        """
        stale = (
            sa.select(TableImport.id)
            .where(TableImport.status == ImportStatus.UPLOADED, TableImport.updated_at < cutoff)
            .order_by(TableImport.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            sa.update(TableImport)
            .where(TableImport.id.in_(stale), TableImport.status == ImportStatus.UPLOADED)
            .values(status=ImportStatus.FAILED, error=message, finished_at=sa.func.now(), updated_at=sa.func.now())
            .returning(TableImport.id)
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def delete_chunks_of(self, import_ids: Sequence[uuid.UUID]) -> None:
        if import_ids:
            await self.session.execute(sa.delete(TableImportChunk).where(TableImportChunk.import_id.in_(import_ids)))

    # the file ---------------------------------------------------------------------------------

    async def add_chunk(self, import_id: uuid.UUID, seq: int, data: bytes) -> None:
        await self.session.execute(sa.insert(TableImportChunk).values(import_id=import_id, seq=seq, data=data))

    async def chunks(self, import_id: uuid.UUID) -> AsyncIterator[bytes]:
        """The file's chunks in order, one query per chunk so memory holds one chunk at a time."""
        seqs = (
            await self.session.execute(
                sa.select(TableImportChunk.seq)
                .where(TableImportChunk.import_id == import_id)
                .order_by(TableImportChunk.seq)
            )
        ).scalars()
        for seq in list(seqs):
            data = (
                await self.session.execute(
                    sa.select(TableImportChunk.data).where(
                        TableImportChunk.import_id == import_id, TableImportChunk.seq == seq
                    )
                )
            ).scalar_one()
            yield data

    async def delete_chunks(self, import_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(TableImportChunk).where(TableImportChunk.import_id == import_id))

    # rejects ----------------------------------------------------------------------------------

    async def add_rejects(self, import_id: uuid.UUID, rejects: Sequence[tuple[int, str, str, str]]) -> int:
        """(line, reason, message, raw) rows; a line already recorded (a resumed batch) is kept once."""
        if not rejects:
            return 0
        stmt = (
            insert(TableImportReject)
            .values(
                [
                    {"import_id": import_id, "line": line, "reason": reason, "message": message, "raw": raw}
                    for line, reason, message, raw in rejects
                ]
            )
            .on_conflict_do_nothing(index_elements=["import_id", "line"])
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def rejects(self, import_id: uuid.UUID, offset: int, limit: int) -> tuple[list[TableImportReject], int]:
        where = TableImportReject.import_id == import_id
        total = (await self.session.execute(sa.select(sa.func.count()).where(where))).scalar_one()
        stmt = sa.select(TableImportReject).where(where).order_by(TableImportReject.line)
        items = (await self.session.execute(stmt.offset(offset).limit(limit))).scalars().all()
        return list(items), int(total)

    async def stream_rejects(self, import_id: uuid.UUID, batch: int = 1000) -> AsyncIterator[list[TableImportReject]]:
        after = 0
        while True:
            stmt = (
                sa.select(TableImportReject)
                .where(TableImportReject.import_id == import_id, TableImportReject.line > after)
                .order_by(TableImportReject.line)
                .limit(batch)
            )
            items = list((await self.session.execute(stmt)).scalars().all())
            if not items:
                return
            yield items
            after = items[-1].line
