"""Auto-run: enrichment, AI and HTTP columns with `auto_run` run on new rows and on rows whose
input cells (an HTTP column's: the columns its template references) changed, by following the
tables' outbox events (docs/outbox.md) in the worker. Runs start like `POST .../runs` does
(columns/runs.py); an HTTP column with no qualifying row records no run.

The jobs are created in the consumer's transaction, together with its new position: a batch of
events queues its runs exactly once, even when the worker dies in between (a replay finds the
position unmoved and nothing created). Workflows are started after the commit; a start that
fails is the reconcilers' (they start queued jobs and HTTP runs that have no workflow).

No loops: a column may not read what it writes (validation, `run_loop`), state changes are not
edits, and a run's own cell writes only trigger columns that read them; a cycle between
auto-run columns is refused when the second one is saved (`autorun_cycle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.columns.kinds import reads_writes
from morket.columns.runs import ColumnRuns, Started
from morket.columns.schemas import MAX_RUN_ROW_IDS, RunRequest
from morket.core.config import Settings
from morket.core.errors import AppError, NotFound
from morket.models import OutboxEventType
from morket.outbox.consumer import OutboxConsumer
from morket.outbox.repository import StoredEvent
from morket.tables.service import TableService

CONSUMER = "columns.auto_run"
POLL_SECONDS = 0.5
log = logging.getLogger("morket.columns")


@dataclass
class _TableChanges:
    workspace_id: uuid.UUID
    created: dict[int, datetime] = field(default_factory=dict)  # row -> when
    changed: dict[int, list[tuple[set[uuid.UUID], datetime]]] = field(default_factory=dict)

    def rows_for(self, inputs: set[uuid.UUID], since: datetime) -> list[int]:
        """Rows created, or with an input edited, at or after `since` (when auto-run was set)."""
        rows = {r for r, at in self.created.items() if at >= since}
        rows |= {r for r, edits in self.changed.items() if any(cols & inputs and at >= since for cols, at in edits)}
        return sorted(rows)


def changes_of(events: Sequence[StoredEvent]) -> dict[uuid.UUID, _TableChanges]:
    """Rows created and cells edited, per table (state-only and formula updates are not edits)."""
    tables: dict[uuid.UUID, _TableChanges] = {}
    for event in events:
        if event.table_id is None:
            continue
        payload = event.payload
        item = tables.setdefault(event.table_id, _TableChanges(event.workspace_id))
        at = event.created_at
        if event.event_type is OutboxEventType.ROWS_CREATED:
            item.created.update((int(r), at) for r in payload.get("row_ids", []))
        elif event.event_type is OutboxEventType.ROWS_UPDATED and payload.get("source") not in (
            "state",
            "formula",
            "lookup",
        ):
            columns = {uuid.UUID(c) for c in payload.get("column_ids", [])}
            for row in payload.get("row_ids", []):
                item.changed.setdefault(int(row), []).append((columns, at))
        elif event.event_type is OutboxEventType.CELL_UPDATED:
            item.changed.setdefault(int(payload["row_id"]), []).append(({uuid.UUID(payload["column_id"])}, at))
    return tables


class AutoRunner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queued: list[Started] = []

    async def handle(self, session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        for table_id, item in changes_of(events).items():
            tables = TableService(session)
            try:
                table = await tables.get(item.workspace_id, table_id)
            except NotFound:  # deleted since
                continue
            if not table.auto_run:  # the table's switch is off: its columns keep theirs, none runs
                continue
            columns = await tables.columns(item.workspace_id, table_id)
            for column in columns:
                # issue 10: enrichment, AI and HTTP columns (kinds.reads_writes knows what each reads)
                reads = reads_writes(column)
                if reads is None:
                    continue
                inputs = reads[0]
                # Only what happened since the column was (re)configured: saving an auto-run
                # column does not run it on the table's history.
                rows = item.rows_for(inputs, column.updated_at)
                for start in range(0, len(rows), MAX_RUN_ROW_IDS):
                    await self._run(
                        session, item.workspace_id, table_id, column.id, rows[start : start + MAX_RUN_ROW_IDS]
                    )

    async def _run(
        self, session: AsyncSession, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID, rows: list[int]
    ) -> None:
        body = RunRequest(column_ids=[column_id], row_ids=rows)
        try:
            async with session.begin_nested():  # a refused run (402, a broken config) leaves the rest
                started = await ColumnRuns(session, self.settings).start(
                    workspace_id, None, table_id, body, record_empty=False
                )
        except AppError as exc:
            log.warning("auto-run of column %s on %d row(s) refused: %s", column_id, len(rows), exc.message)
            return
        if started.jobs or started.http_runs:
            self.queued.append(started)

    async def start_queued(self, session: AsyncSession, client: Client) -> None:
        batches, self.queued = self.queued, []
        for started in batches:  # a start that fails is logged: the reconcilers start it
            await started.start_workflows(client, session, self.settings)


async def run_auto_runs(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    """Follow the outbox until `stop`: queue auto-runs, then start their workflows."""
    runner = AutoRunner(settings)
    consumer = OutboxConsumer(CONSUMER, None, sessions, session_handler=runner.handle)
    while not stop.is_set():
        try:
            try:
                handled = await consumer.run_once()
            except Exception:
                runner.queued.clear()  # rolled back: those jobs do not exist
                raise
            if runner.queued:
                async with sessions() as session:
                    await runner.start_queued(session, client)
        except Exception:
            log.exception("column auto-run failed; retrying")
            handled = 0
        if not handled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
