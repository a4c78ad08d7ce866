"""From the outbox to the index: the search consumer's handler, table (re)indexing, the reindex command.

The handler runs inside the outbox consumer's transaction (`session_handler`): with the
PostgreSQL engine the documents and the consumer's new position commit together, so each change
is applied exactly once. Per batch it folds the events per table (rows touched, rows deleted,
table deleted or to be rebuilt), then reads the touched rows' *current* values (a row deleted
since is simply not found) and upserts one document per row: replaying a batch is harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import NotFound
from morket.models import OutboxEventType
from morket.outbox.consumer import OutboxConsumer
from morket.outbox.repository import StoredEvent
from morket.search.backends.base import SearchBackend
from morket.search.documents import FieldPlan, SearchDocument, build_document
from morket.tables.query import RowView
from morket.tables.schemas import RowOut
from morket.tables.service import RowService, TableService

CONSUMER_NAME = "search"
FETCH_BATCH = 1_000
PAGE_ROWS = 5_000
# Rows per consumer transaction: short transactions (a long one holds back every outbox reader),
# yet many single-cell events per batch under a stream of edits.
MAX_BATCH_ROWS = 5_000
log = logging.getLogger("morket.search")

BackendFactory = Callable[[AsyncSession], SearchBackend]

_ROW_EVENTS = (OutboxEventType.ROWS_CREATED, OutboxEventType.ROWS_UPDATED)
_REBUILD_EVENTS = (
    OutboxEventType.TABLE_RESTORED,
    OutboxEventType.COLUMN_UPDATED,
    OutboxEventType.COLUMN_DELETED,
)


@dataclass
class _TableChanges:
    touched: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    drop: bool = False
    rebuild: bool = False


def fold(events: Sequence[StoredEvent]) -> dict[tuple[uuid.UUID, uuid.UUID], _TableChanges]:
    """What a batch asks of the index, per (workspace, table), in event order."""
    changes: dict[tuple[uuid.UUID, uuid.UUID], _TableChanges] = {}
    for event in events:
        if event.table_id is None:
            continue
        state = changes.setdefault((event.workspace_id, event.table_id), _TableChanges())
        kind = event.event_type
        if kind in _ROW_EVENTS:
            state.touched.update(int(i) for i in event.payload.get("row_ids", []))
        elif kind is OutboxEventType.CELL_UPDATED:
            state.touched.add(int(event.payload["row_id"]))
        elif kind is OutboxEventType.ROWS_DELETED:
            ids = {int(i) for i in event.payload.get("row_ids", [])}
            state.deleted |= ids
            state.touched -= ids
        elif kind is OutboxEventType.TABLE_DELETED:
            state.drop, state.rebuild = True, False
            state.touched.clear()
        elif kind in _REBUILD_EVENTS or (kind is OutboxEventType.TABLE_UPDATED and "name" in event.payload):
            state.drop, state.rebuild = False, True
    return changes


def documents(
    workspace_id: uuid.UUID, table_id: uuid.UUID, table_name: str, plan: FieldPlan, rows: Sequence[RowOut]
) -> list[SearchDocument]:
    return [
        build_document(
            workspace_id, table_id, table_name, plan, r.id, r.version, r.cells, r.meta, r.created_at, r.updated_at
        )
        for r in rows
    ]


class SearchIndexer:
    """Applies changes to one backend, reading rows through the tables module's services."""

    def __init__(self, session: AsyncSession, backend: SearchBackend) -> None:
        self.session = session
        self.backend = backend
        self.tables = TableService(session)
        self.rows = RowService(session)

    async def apply(self, events: Sequence[StoredEvent]) -> int:
        indexed = 0
        for (workspace_id, table_id), state in fold(events).items():
            if state.drop:
                await self.backend.delete(workspace_id, table_id, None)
                continue
            if state.deleted:
                await self.backend.delete(workspace_id, table_id, sorted(state.deleted))
            if state.rebuild:
                # Every row again: an upsert replaces each document whole (the row set is unchanged).
                indexed += await self.index_table(workspace_id, table_id)
            elif state.touched:
                indexed += await self.index_rows(workspace_id, table_id, sorted(state.touched))
        return indexed

    async def plan_of(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> tuple[str, FieldPlan] | None:
        try:
            table = await self.tables.get(workspace_id, table_id)
        except NotFound:
            return None
        return table.name, FieldPlan.of(await self.tables.columns(workspace_id, table_id))

    async def index_rows(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int]) -> int:
        found = await self.plan_of(workspace_id, table_id)
        if found is None:  # deleted since: its documents go
            await self.backend.delete(workspace_id, table_id, None)
            return 0
        name, plan = found
        indexed = 0
        for start in range(0, len(row_ids), FETCH_BATCH):
            rows = await self.rows.get_rows(workspace_id, table_id, row_ids[start : start + FETCH_BATCH])
            indexed += await self.backend.index(documents(workspace_id, table_id, name, plan, rows))
        return indexed

    async def index_table(self, workspace_id: uuid.UUID, table_id: uuid.UUID, generation: int | None = None) -> int:
        """Every row of a table, by keyset pages, in this transaction."""
        found = await self.plan_of(workspace_id, table_id)
        if found is None:
            return 0
        name, plan = found
        indexed = 0
        cursor: str | None = None
        while True:
            rows, meta = await self.rows.query(
                workspace_id, table_id, RowView(), 0, PAGE_ROWS, count=False, cursor=cursor
            )
            docs = documents(workspace_id, table_id, name, plan, rows)
            indexed += await self.backend.index(docs, generation=generation)
            cursor = meta.get("next_cursor")
            if not cursor:
                return indexed


def rows_within(events: Sequence[StoredEvent], limit: int = MAX_BATCH_ROWS) -> int:
    """How many leading events name at most `limit` rows together (a batch is one transaction)."""
    total = 0
    for count, event in enumerate(events):
        total += len(event.payload.get("row_ids", ())) or 1
        if total > limit:
            return count
    return len(events)


def search_consumer(
    sessions: async_sessionmaker[AsyncSession], make_backend: BackendFactory, batch_size: int = 200
) -> OutboxConsumer:
    async def handle(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        await SearchIndexer(session, make_backend(session)).apply(events)

    return OutboxConsumer(
        CONSUMER_NAME, None, sessions, batch_size=batch_size, session_handler=handle, take=rows_within
    )


async def reindex_workspace(
    sessions: async_sessionmaker[AsyncSession], make_backend: BackendFactory, workspace_id: uuid.UUID
) -> int:
    """Build a new generation of the workspace's index from its tables, then swap it in.

    Searches read the old generation until the swap; each page of rows is its own short
    transaction (a long one would hold back every outbox reader). Live changes meanwhile reach
    both generations; deletions are remembered and applied again at the swap.
    """
    async with unit_of_work(sessions) as session:
        generation = await make_backend(session).begin_reindex(workspace_id)
    async with unit_of_work(sessions) as session:
        tables, _ = await TableService(session).list_tables(workspace_id, deleted=False, offset=0, limit=100_000)
    indexed = 0
    for table in tables:
        cursor: str | None = None
        while True:
            async with unit_of_work(sessions) as session:
                indexer = SearchIndexer(session, make_backend(session))
                found = await indexer.plan_of(workspace_id, table.id)
                if found is None:
                    break
                name, plan = found
                rows, meta = await indexer.rows.query(
                    workspace_id, table.id, RowView(), 0, PAGE_ROWS, count=False, cursor=cursor
                )
                indexed += await indexer.backend.index(
                    documents(workspace_id, table.id, name, plan, rows), generation=generation
                )
            cursor = meta.get("next_cursor")
            if not cursor:
                break
    async with unit_of_work(sessions) as session:
        await make_backend(session).finish_reindex(workspace_id, generation)
    log.info("search: workspace %s reindexed into generation %d (%d rows)", workspace_id, generation, indexed)
    return indexed
