"""Every SQL statement of CRM export: states, connections, exports, runs, their rows, records."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import (
    CrmConnection,
    CrmExport,
    CrmExportRecord,
    CrmExportRow,
    CrmExportRun,
    CrmKind,
    CrmOAuthState,
    CrmRowState,
    CrmRunStatus,
)

INSERT_BATCH = 5000


class CrmRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, item: object) -> None:
        self.session.add(item)
        await self.session.flush()

    # -- OAuth states and connections -------------------------------------------------------------

    async def take_state(self, workspace_id: uuid.UUID, user_id: uuid.UUID, state_hash: str) -> CrmOAuthState | None:
        """The state row of this workspace and user, deleted as it is read: a state works once."""
        stmt = (
            sa.delete(CrmOAuthState)
            .where(
                CrmOAuthState.state_hash == state_hash,
                CrmOAuthState.workspace_id == workspace_id,
                CrmOAuthState.user_id == user_id,
            )
            .returning(CrmOAuthState)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def drop_expired_states(self, now: datetime) -> None:
        await self.session.execute(sa.delete(CrmOAuthState).where(CrmOAuthState.expires_at < now))

    async def connection(
        self, workspace_id: uuid.UUID, connection_id: uuid.UUID, *, lock: bool = False
    ) -> CrmConnection | None:
        stmt = sa.select(CrmConnection).where(
            CrmConnection.id == connection_id, CrmConnection.workspace_id == workspace_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def connection_of(self, workspace_id: uuid.UUID, crm: CrmKind, *, lock: bool = False) -> CrmConnection | None:
        stmt = sa.select(CrmConnection).where(CrmConnection.workspace_id == workspace_id, CrmConnection.crm == crm)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def connections(self, workspace_id: uuid.UUID) -> list[CrmConnection]:
        stmt = sa.select(CrmConnection).where(CrmConnection.workspace_id == workspace_id).order_by(CrmConnection.crm)
        return list((await self.session.execute(stmt)).scalars())

    async def delete(self, item: object) -> None:
        await self.session.delete(item)
        await self.session.flush()

    # -- exports ----------------------------------------------------------------------------------

    async def export(self, workspace_id: uuid.UUID, export_id: uuid.UUID) -> CrmExport | None:
        stmt = sa.select(CrmExport).where(CrmExport.id == export_id, CrmExport.workspace_id == workspace_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def exports(self, workspace_id: uuid.UUID, table_id: uuid.UUID | None) -> list[CrmExport]:
        stmt = sa.select(CrmExport).where(CrmExport.workspace_id == workspace_id)
        if table_id is not None:
            stmt = stmt.where(CrmExport.table_id == table_id)
        return list((await self.session.execute(stmt.order_by(CrmExport.created_at, CrmExport.id))).scalars())

    # -- runs -------------------------------------------------------------------------------------

    async def active_run(self, export_id: uuid.UUID) -> CrmExportRun | None:
        stmt = sa.select(CrmExportRun).where(
            CrmExportRun.export_id == export_id, CrmExportRun.status.in_((CrmRunStatus.QUEUED, CrmRunStatus.RUNNING))
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def last_runs(self, export_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CrmExportRun]:
        """Each export's newest run (the one an export list shows: status, progress, cancel)."""
        if not export_ids:
            return {}
        stmt = (
            sa.select(CrmExportRun)
            .where(CrmExportRun.export_id.in_(export_ids))
            .order_by(CrmExportRun.export_id, CrmExportRun.created_at.desc(), CrmExportRun.id.desc())
            .ext(distinct_on(CrmExportRun.export_id))
        )
        return {r.export_id: r for r in (await self.session.execute(stmt)).scalars()}

    async def add_counts(self, run_id: uuid.UUID, counts: Mapping[CrmRowState, int], *, batches: int = 0) -> None:
        pushed = counts.get(CrmRowState.CREATED, 0) + counts.get(CrmRowState.UPDATED, 0)
        await self.session.execute(
            sa.update(CrmExportRun)
            .where(CrmExportRun.id == run_id)
            .values(
                pushed_count=CrmExportRun.pushed_count + pushed,
                created_count=CrmExportRun.created_count + counts.get(CrmRowState.CREATED, 0),
                updated_count=CrmExportRun.updated_count + counts.get(CrmRowState.UPDATED, 0),
                failed_count=CrmExportRun.failed_count + counts.get(CrmRowState.FAILED, 0),
                skipped_count=CrmExportRun.skipped_count + counts.get(CrmRowState.SKIPPED, 0),
                batches=CrmExportRun.batches + batches,
            )
        )

    # -- a run's rows -----------------------------------------------------------------------------

    async def queue_rows(self, run_id: uuid.UUID, row_ids: Sequence[int]) -> None:
        for start in range(0, len(row_ids), INSERT_BATCH):
            part = row_ids[start : start + INSERT_BATCH]
            await self.session.execute(
                insert(CrmExportRow),
                [{"run_id": run_id, "row_id": r, "state": CrmRowState.QUEUED} for r in part],
            )

    async def queued_rows(self, run_id: uuid.UUID, limit: int) -> list[int]:
        stmt = (
            sa.select(CrmExportRow.row_id)
            .where(CrmExportRow.run_id == run_id, CrmExportRow.state == CrmRowState.QUEUED)
            .order_by(CrmExportRow.row_id)
            .limit(limit)
        )
        return [int(r) for r in (await self.session.execute(stmt)).scalars()]

    async def set_row_states(self, run_id: uuid.UUID, states: Mapping[int, CrmRowState]) -> None:
        by_state: dict[CrmRowState, list[int]] = {}
        for row_id, state in states.items():
            by_state.setdefault(state, []).append(row_id)
        for state, ids in by_state.items():
            await self.session.execute(
                sa.update(CrmExportRow)
                .where(CrmExportRow.run_id == run_id, CrmExportRow.row_id.in_(ids))
                .values(state=state)
            )

    async def settle_queued(self, run_id: uuid.UUID, state: CrmRowState) -> int:
        result = await self.session.execute(
            sa.update(CrmExportRow)
            .where(CrmExportRow.run_id == run_id, CrmExportRow.state == CrmRowState.QUEUED)
            .values(state=state)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- what the CRM holds -----------------------------------------------------------------------

    async def hashes(self, export_id: uuid.UUID, row_ids: Sequence[int]) -> dict[int, str]:
        stmt = sa.select(CrmExportRecord.row_id, CrmExportRecord.content_hash).where(
            CrmExportRecord.export_id == export_id, CrmExportRecord.row_id.in_(list(row_ids))
        )
        return {int(r): h for r, h in (await self.session.execute(stmt)).all()}

    async def save_records(self, export_id: uuid.UUID, records: Mapping[int, tuple[str, str]]) -> None:
        """(row id -> (content hash, CRM id)) of rows the CRM accepted."""
        if not records:
            return
        stmt = insert(CrmExportRecord).values(
            [
                {"export_id": export_id, "row_id": r, "content_hash": h, "crm_id": crm_id}
                for r, (h, crm_id) in records.items()
            ]
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[CrmExportRecord.export_id, CrmExportRecord.row_id],
            set_={
                "content_hash": stmt.excluded.content_hash,
                "crm_id": stmt.excluded.crm_id,
                "pushed_at": sa.func.now(),
            },
        )
        await self.session.execute(stmt)
