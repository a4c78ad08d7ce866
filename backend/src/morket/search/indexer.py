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
from morket.models import OutboxEventType, TableColumn
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


@dataclass(frozen=True)
class _Plan:
    name: str
    plan: FieldPlan
    columns: list[TableColumn]


# Where a table's indexing resumes: the last row id done (documents built in the database, rows in
# id order), or the rows API's keyset cursor (documents built in Python); 0 is the beginning.
_Cursor = int | str


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

    async def plan_of(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> _Plan | None:
        try:
            table, columns = await self.tables.with_columns(workspace_id, table_id)
        except NotFound:
            return None
        return _Plan(table.name, FieldPlan.of(columns), columns)

    async def index_rows(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int]) -> int:
        found = await self.plan_of(workspace_id, table_id)
        if found is None:  # deleted since: its documents go
            await self.backend.delete(workspace_id, table_id, None)
            return 0
        indexed = 0
        for start in range(0, len(row_ids), PAGE_ROWS):
            chunk = row_ids[start : start + PAGE_ROWS]
            # In the database when the engine can (PostgreSQL): no row leaves it.
            done = await self.backend.index_from_table(
                workspace_id, table_id, found.name, found.plan, found.columns, row_ids=chunk
            )
            if done is not None:
                indexed += done[0]
                continue
            for part in range(0, len(chunk), FETCH_BATCH):
                rows = await self.rows.get_rows(workspace_id, table_id, chunk[part : part + FETCH_BATCH])
                indexed += await self.backend.index(documents(workspace_id, table_id, found.name, found.plan, rows))
        return indexed

    async def index_page(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, cursor: _Cursor, generation: int | None = None
    ) -> tuple[int, _Cursor | None]:
        """One page of a table's rows, in row order; the next cursor, None at the end (or when the table went)."""
        found = await self.plan_of(workspace_id, table_id)
        if found is None:
            return 0, None
        if isinstance(cursor, int):
            done = await self.backend.index_from_table(
                workspace_id,
                table_id,
                found.name,
                found.plan,
                found.columns,
                after=cursor,
                limit=PAGE_ROWS,
                generation=generation,
            )
            if done is not None:
                return done[0], done[1]
        # This engine takes Python documents: keyset pages of the rows API (from the first one).
        rows, meta = await self.rows.query(
            workspace_id,
            table_id,
            RowView(),
            0,
            PAGE_ROWS,
            count=False,
            cursor=cursor if isinstance(cursor, str) else None,
        )
        indexed = await self.backend.index(
            documents(workspace_id, table_id, found.name, found.plan, rows), generation=generation
        )
        next_cursor = meta.get("next_cursor")
        return indexed, str(next_cursor) if next_cursor else None

    async def index_table(self, workspace_id: uuid.UUID, table_id: uuid.UUID, generation: int | None = None) -> int:
        """Every row of a table, by pages, in this transaction."""
        indexed = 0
        cursor: _Cursor | None = 0
        while cursor is not None:
            count, cursor = await self.index_page(workspace_id, table_id, cursor, generation)
            indexed += count
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
    sessions: async_sessionmaker[AsyncSession],
    make_backend: BackendFactory,
    batch_size: int = 200,
    settle_seconds: float = 0.0,
) -> OutboxConsumer:
    async def handle(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        await SearchIndexer(session, make_backend(session)).apply(events)

    return OutboxConsumer(
        CONSUMER_NAME,
        None,
        sessions,
        batch_size=batch_size,
        session_handler=handle,
        take=rows_within,
        settle_seconds=settle_seconds,
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
        cursor: _Cursor | None = 0
        while cursor is not None:
            async with unit_of_work(sessions) as session:
                count, cursor = await SearchIndexer(session, make_backend(session)).index_page(
                    workspace_id, table.id, cursor, generation
                )
            indexed += count
    async with unit_of_work(sessions) as session:
        await make_backend(session).finish_reindex(workspace_id, generation)
    log.info("search: workspace %s reindexed into generation %d (%d rows)", workspace_id, generation, indexed)
    return indexed
