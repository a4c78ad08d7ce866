"""Business rules of tables, columns and rows; the storage API other modules call.

Every change writes its outbox events in the same transaction (docs/outbox.md). Services flush,
they never commit: a request commits in its session dependency, a job in its own unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import ai as ai_columns
from morket.columns import context as kind_context
from morket.columns import http as http_columns
from morket.columns import lookup, recompute
from morket.columns.kinds import KindContext, rename_formula_references, validate_column_config
from morket.columns.repository import ColumnsRepository
from morket.core.errors import Conflict, NotFound, Unprocessable
from morket.models import CellSource, ColumnKind, ColumnType, DataTable, OutboxEventType, TableColumn
from morket.outbox.service import OutboxService
from morket.tables.query import CompiledView, Cursor, RowView, compile_view, decode_cursor, encode_cursor
from morket.tables.repository import HistoryEntry, TablesRepository
from morket.tables.schemas import (
    CellHistoryOut,
    ColumnCreate,
    ColumnOut,
    ColumnUpdate,
    RowOut,
    RowPatch,
    TableCreate,
    TableOut,
    TableUpdate,
    TypeChangeReport,
)
from morket.tables.storage import StoredRow, TableStorage, sa_table
from morket.tables.types import InvalidValue, parse_value, render_value

RESTORE_WINDOW = timedelta(days=30)
# A filtered count stops at this many rows; above it the planner's estimate is returned, flagged.
COUNT_CAP = 10_000
MAX_ERRORS = 1000
DEFAULT_BATCH = 5000
# Below this many rows a view sorts in memory fast enough; above it, a column a view sorts on (or
# looks up by equality) gets its (column, _id) index the first time (docs/tables.md).
INDEX_MIN_ROWS = 10_000


@dataclass(frozen=True)
class RowError:
    row: int  # index in the input, 0-based
    column_id: str | None
    message: str

    def as_detail(self) -> dict[str, Any]:
        return {"row": self.row, "column_id": self.column_id, "message": self.message}


@dataclass
class AppendResult:
    inserted: int = 0
    updated: int = 0
    row_ids: list[int] = field(default_factory=list)  # ids of inserted rows, in input order
    rejected: list[RowError] = field(default_factory=list)


@dataclass
class ComputedWrite:
    """What `RowService.write_computed` did, by (row id, column id)."""

    written: set[tuple[int, uuid.UUID]] = field(default_factory=set)
    kept: set[tuple[int, uuid.UUID]] = field(default_factory=set)  # not empty, fill-empty policy
    invalid: dict[tuple[int, uuid.UUID], str] = field(default_factory=dict)
    missing_rows: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class RowCount:
    total: int
    estimated: bool


def render_row(row: StoredRow, columns: Sequence[TableColumn]) -> RowOut:
    return render_rows([row], columns)[0]


def render_rows(rows: Sequence[StoredRow], columns: Sequence[TableColumn]) -> list[RowOut]:
    """Rows for the API. The column attributes are read once per batch, not once per cell, and
    the models are built without validation: every field comes typed from our own storage."""
    plan = [(c.id, str(c.id), c.type) for c in columns]
    return [
        RowOut.model_construct(
            id=row.id,
            version=row.version,
            cells={key: render_value(column_type, row.values.get(column_id)) for column_id, key, column_type in plan},
            invalid=row.invalid or {},
            meta=row.meta or {},
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _table_out(table: DataTable, columns: Sequence[TableColumn] | None = None) -> TableOut:
    out = TableOut.model_validate(table)
    if table.deleted_at is not None:
        out.purge_after = table.deleted_at + RESTORE_WINDOW
    if columns is not None:
        out.columns = [ColumnOut.model_validate(c) for c in columns]
    return out


class TableService:
    """Tables and their columns."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TablesRepository(session)
        self.storage = TableStorage(session)
        self.outbox = OutboxService(session)

    async def get(self, workspace_id: uuid.UUID, table_id: uuid.UUID, *, lock: bool = False) -> DataTable:
        table = await self.repo.get_table(workspace_id, table_id, lock=lock)
        if table is None:
            raise NotFound("Table not found.")
        return table

    async def with_columns(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> tuple[DataTable, list[TableColumn]]:
        """A live table and its columns in display order, in one round trip (every row write needs both)."""
        found = await self.repo.table_with_columns(workspace_id, table_id)
        if found is None:
            raise NotFound("Table not found.")
        return found

    async def columns(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> list[TableColumn]:
        """The table's columns in display order (hidden ones included)."""
        await self.get(workspace_id, table_id)
        return await self.repo.columns(table_id)

    async def create_table(
        self, workspace_id: uuid.UUID, actor_id: uuid.UUID | None, body: TableCreate, *, index: bool = False
    ) -> TableOut:
        """A new empty table with the given columns. Sort indexes come on demand (`index=True`
        builds one per sortable column now, the old policy; docs/tables.md says why not)."""
        names = [c.name.casefold() for c in body.columns]
        if len(set(names)) != len(names):
            raise Unprocessable("Column names must be unique within a table.", code="duplicate_column_name")
        table = await self.repo.add_table(
            DataTable(
                id=uuid.uuid4(),
                workspace_id=workspace_id,
                name=body.name,
                row_count=0,
                auto_run=body.auto_run,
                created_by=actor_id,
            )
        )
        await self.storage.create_table(table.id)
        columns = [await self._add_column(table, spec, index=index, emit=False) for spec in body.columns]
        await self.outbox.emit(
            workspace_id,
            OutboxEventType.TABLE_CREATED,
            str(table.id),
            {"table_id": str(table.id), "name": table.name, "column_ids": [str(c.id) for c in columns]},
            table_id=table.id,
        )
        await self.session.refresh(table)
        return _table_out(table, columns)

    async def describe(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> TableOut:
        table = await self.get(workspace_id, table_id)
        return _table_out(table, await self.repo.columns(table.id))

    async def list_tables(
        self, workspace_id: uuid.UUID, *, deleted: bool, offset: int, limit: int
    ) -> tuple[list[TableOut], int]:
        tables, total = await self.repo.list_tables(workspace_id, deleted=deleted, offset=offset, limit=limit)
        return [_table_out(t) for t in tables], total

    async def update(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: TableUpdate) -> TableOut:
        """Rename the table and/or set its auto-run switch (`TABLE_UPDATED` names what changed)."""
        table = await self.get(workspace_id, table_id, lock=True)
        changes: dict[str, Any] = {}
        if body.name is not None:
            table.name = changes["name"] = body.name
        if body.auto_run is not None:
            table.auto_run = changes["auto_run"] = body.auto_run
        await self.session.flush()
        await self.session.refresh(table)
        await self.outbox.emit(workspace_id, OutboxEventType.TABLE_UPDATED, str(table.id), changes, table_id=table.id)
        return _table_out(table, await self.repo.columns(table.id))

    async def soft_delete(self, workspace_id: uuid.UUID, table_id: uuid.UUID, actor_id: uuid.UUID) -> TableOut:
        """Move the table to the trash: hidden everywhere, restorable for RESTORE_WINDOW, then purged."""
        table = await self.get(workspace_id, table_id, lock=True)
        table.deleted_at = datetime.now(UTC)
        table.deleted_by = actor_id
        await self.session.flush()
        await self.session.refresh(table)
        await self.outbox.emit(workspace_id, OutboxEventType.TABLE_DELETED, str(table.id), {}, table_id=table.id)
        return _table_out(table)

    async def restore(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> TableOut:
        table = await self.repo.get_table(workspace_id, table_id, deleted=True, lock=True)
        if table is None:
            raise NotFound("No deleted table with this id.")
        table.deleted_at = None
        table.deleted_by = None
        await self.session.flush()
        await self.session.refresh(table)
        await self.outbox.emit(workspace_id, OutboxEventType.TABLE_RESTORED, str(table.id), {}, table_id=table.id)
        return _table_out(table, await self.repo.columns(table.id))

    async def purge_deleted(self, now: datetime | None = None) -> int:
        """Drop tables deleted more than RESTORE_WINDOW ago, rows and all; returns how many."""
        cutoff = (now or datetime.now(UTC)) - RESTORE_WINDOW
        purged = 0
        for table in await self.repo.deleted_before(cutoff):
            await self.storage.drop_table(table.id)
            await self.repo.remove_table(table)
            purged += 1
        return purged

    # columns -------------------------------------------------------------------------------

    async def _add_column(self, table: DataTable, spec: ColumnCreate, *, index: bool, emit: bool) -> TableColumn:
        # issue 10: a computing kind's config is checked against the table (docs/columns.md).
        config = spec.config
        if spec.kind is not ColumnKind.DATA:
            context = KindContext(table.id, await self.repo.columns(table.id), None, spec.type)
            # issue 10 items 7-8: lookup and HTTP columns check facts outside the table
            context = await kind_context.prepare(
                self.session, table.workspace_id, spec.kind, spec.type, spec.config, context
            )
            config = validate_column_config(spec.kind, spec.config, context)
        column = await self.repo.add_column(
            TableColumn(
                id=uuid.uuid4(),
                table_id=table.id,
                workspace_id=table.workspace_id,
                name=spec.name,
                type=spec.type,
                kind=spec.kind,
                position=await self.repo.next_position(table.id),
                hidden=spec.hidden,
                options=spec.options,
                config=config,
            )
        )
        formula = column.kind is ColumnKind.FORMULA
        await self.storage.add_column(table.id, column, index=index and not formula)
        if emit:
            await self._column_event(table, OutboxEventType.COLUMN_CREATED, column)
        if formula:  # issue 10: compute the new formula on every row, then index it (cheaper)
            await self._recompute_all(table, column)
            if index:
                await self.storage.create_index(table.id, column)
        if column.kind is ColumnKind.LOOKUP:  # issue 10 item 7: a new lookup computes every row
            await lookup.recompute_column(RowService(self.session), table, await self.repo.columns(table.id), column)
        return column

    async def _recompute_all(self, table: DataTable, column: TableColumn) -> None:
        columns = await self.repo.columns(table.id)
        await recompute.recompute(RowService(self.session), table, columns, [column])

    async def _column_event(self, table: DataTable, event: OutboxEventType, column: TableColumn) -> None:
        payload = ColumnOut.model_validate(column).model_dump(mode="json")
        await self.outbox.emit(table.workspace_id, event, str(column.id), payload, table_id=table.id)

    async def _column(self, table: DataTable, column_id: uuid.UUID) -> tuple[TableColumn, list[TableColumn]]:
        columns = await self.repo.columns(table.id)
        for column in columns:
            if column.id == column_id:
                return column, columns
        raise NotFound("Column not found.")

    @staticmethod
    def _check_name(columns: Sequence[TableColumn], name: str, except_id: uuid.UUID | None = None) -> None:
        if any(c.name.casefold() == name.casefold() and c.id != except_id for c in columns):
            raise Conflict("A column with this name exists in the table.", code="duplicate_column_name")

    async def add_column(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, spec: ColumnCreate, *, index: bool = False
    ) -> ColumnOut:
        table = await self.get(workspace_id, table_id, lock=True)
        self._check_name(await self.repo.columns(table.id), spec.name)
        return ColumnOut.model_validate(await self._add_column(table, spec, index=index, emit=True))

    async def build_indexes(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> None:
        """After a bulk load: refresh the planner's statistics. Sort indexes are made on demand
        (the first view that sorts on a column of a large table, docs/tables.md), so a load has
        none to build; a table made with `index=True` already has them."""
        table = await self.get(workspace_id, table_id)
        await self.storage.analyze(table.id)

    async def ensure_indexes(self, table: DataTable, columns: Sequence[TableColumn]) -> None:
        """Index these columns if the table is large enough for an index to matter."""
        if columns and table.row_count >= INDEX_MIN_ROWS:
            await self.storage.ensure_indexes(table.id, columns)

    async def update_column(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID, body: ColumnUpdate
    ) -> tuple[ColumnOut, TypeChangeReport | None]:
        """Rename, hide, move, reconfigure or change the type of a column."""
        table = await self.get(workspace_id, table_id, lock=True)
        column, columns = await self._column(table, column_id)
        report = None
        renamed: list[TableColumn] = []
        if body.name is not None:
            self._check_name(columns, body.name, except_id=column.id)
            column.name = body.name
            # issue 10, AI columns: prompts show the new name (they hold column ids); so do formulas
            # and HTTP templates.
            renamed = [c for c in ai_columns.rename_references(columns, column.id) if c.id != column.id]
            renamed += rename_formula_references(columns, column)
            renamed += http_columns.rename_references(columns, column)
        if body.hidden is not None:
            column.hidden = body.hidden
        if body.options is not None:
            column.options = body.options
        reconfigured = body.config is not None or (body.type is not None and body.type is not column.type)
        if (
            reconfigured
            and column.kind is not ColumnKind.DATA
            and await ColumnsRepository(self.session).run_active(table.id, column.id)
        ):
            # A run reads the settings it started with (its job's target); changing them under it
            # would leave cells written by two different configs. Cancel it or let it finish.
            raise Conflict(
                f"A run of “{column.name}” is in progress: cancel it or wait for it to finish"
                " before changing its settings.",
                code="column_run_active",
            )
        if body.config is not None:
            # issue 10: a computing kind's config is checked against the table (docs/columns.md).
            context = KindContext(table.id, columns, column.id, body.type or column.type)
            # issue 10 items 7-8: lookup and HTTP columns check facts outside the table
            context = await kind_context.prepare(
                self.session, table.workspace_id, column.kind, body.type or column.type, body.config, context
            )
            column.config = validate_column_config(column.kind, body.config, context)
            if column.kind is ColumnKind.FORMULA:  # issue 10: a new formula recomputes every row
                await self.session.flush()
                await self._recompute_all(table, column)
            if column.kind is ColumnKind.LOOKUP:  # issue 10 item 7: a new lookup recomputes every row
                await self.session.flush()
                await lookup.recompute_column(RowService(self.session), table, columns, column)
        if body.type is not None and body.type is not column.type:
            report = await self._change_type(table, column, body.type)
        if body.position is not None:
            ordered = [c for c in columns if c.id != column.id]
            ordered.insert(min(body.position, len(ordered)), column)
            for position, item in enumerate(ordered):
                item.position = position
        await self.session.flush()
        await self.session.refresh(column)
        await self._column_event(table, OutboxEventType.COLUMN_UPDATED, column)
        for other in renamed:  # issue 10, AI columns
            await self.session.refresh(other)
            await self._column_event(table, OutboxEventType.COLUMN_UPDATED, other)
        return ColumnOut.model_validate(column), report

    async def _change_type(self, table: DataTable, column: TableColumn, new_type: ColumnType) -> TypeChangeReport:
        had_index = bool(await self.storage.indexed(table.id, [column]))
        not_converted = await self.storage.change_column_type(table.id, column, new_type)
        column.type = new_type
        await self.session.flush()
        if had_index:
            await self.storage.create_index(table.id, column)
        samples: list[dict[str, Any]] = []
        if not_converted:
            samples = await self._invalid_samples(table, column)
        return TypeChangeReport(not_converted=not_converted, samples=samples)

    async def _invalid_samples(self, table: DataTable, column: TableColumn) -> list[dict[str, Any]]:
        columns = await self.repo.columns(table.id)
        phys = sa_table(table.id, columns)
        from sqlalchemy import select

        key = str(column.id)
        stmt = (
            select(phys.c._id, phys.c._invalid[key].astext)
            .where(phys.c._invalid.has_key(key))
            .order_by(phys.c._id)
            .limit(20)
        )
        rows = (await self.session.execute(stmt)).all()
        return [{"row_id": int(r[0]), "original": r[1]} for r in rows]

    async def reorder_columns(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, column_ids: Sequence[uuid.UUID]
    ) -> list[ColumnOut]:
        table = await self.get(workspace_id, table_id, lock=True)
        columns = await self.repo.columns(table.id)
        if sorted(column_ids) != sorted(c.id for c in columns):
            raise Unprocessable("Give every column of the table exactly once.", code="invalid_column_order")
        by_id = {c.id: c for c in columns}
        for position, column_id in enumerate(column_ids):
            by_id[column_id].position = position
        await self.session.flush()
        for column in columns:
            await self.session.refresh(column)
        ordered = [by_id[c] for c in column_ids]
        await self.outbox.emit(
            workspace_id,
            OutboxEventType.TABLE_UPDATED,
            str(table.id),
            {"column_order": [str(c) for c in column_ids]},
            table_id=table.id,
        )
        return [ColumnOut.model_validate(c) for c in ordered]

    async def delete_column(self, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID) -> None:
        table = await self.get(workspace_id, table_id, lock=True)
        column, _ = await self._column(table, column_id)
        await self._column_event(table, OutboxEventType.COLUMN_DELETED, column)
        await self.storage.drop_column(table.id, column)
        await self.repo.remove_column(column)


class RowService:
    """Rows and cells: the storage API the grid, the importer, the exporter and dedupe call."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tables = TableService(session)
        self.repo = self.tables.repo
        self.storage = self.tables.storage
        self.outbox = self.tables.outbox

    # reading -------------------------------------------------------------------------------

    async def query(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        view: RowView,
        offset: int,
        limit: int,
        *,
        count: bool = True,
        cursor: str | None = None,
    ) -> tuple[list[RowOut], dict[str, Any]]:
        """One page of the view; `meta` carries the total (flagged when estimated) and `next_cursor`.

        `cursor` (from a previous page's `meta.next_cursor`) continues after that page by keyset,
        which costs the same at any depth; `offset` is for small jumps (its cost grows with it).
        """
        found = await self.repo.table_with_columns(workspace_id, table_id)
        if found is None:
            raise NotFound("Table not found.")
        table, columns = found
        compiled = compile_view(view, columns, sa_table(table.id, columns))
        position = decode_cursor(compiled, cursor) if cursor else None
        if position is not None and offset:
            raise Unprocessable(
                "Give either a cursor or an offset, not both.",
                code="invalid_view",
                details=[{"field": "offset", "message": "must be 0 with a cursor"}],
            )
        await self.tables.ensure_indexes(table, compiled.index_columns)
        rows = await self.storage.page(columns, compiled, offset, limit, position)
        meta: dict[str, Any] = {"offset": offset, "limit": limit, "next_cursor": None}
        if len(rows) == limit:
            last = rows[-1]
            values = tuple(last.values.get(c.id) for c, _ in compiled.sort_columns)
            meta["next_cursor"] = encode_cursor(compiled, Cursor(values, last.id))
        if count:
            total = await self._count(table, compiled)
            meta.update(total=total.total, total_estimated=total.estimated)
        return render_rows(rows, columns), meta

    async def count_rows(self, workspace_id: uuid.UUID, table_id: uuid.UUID, view: RowView | None = None) -> RowCount:
        """Exact for the whole table (a maintained counter); capped or estimated for a filter."""
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.repo.columns(table.id)
        return await self._count(table, compile_view(view or RowView(), columns, sa_table(table.id, columns)))

    async def _count(self, table: DataTable, view: CompiledView) -> RowCount:
        if view.where is None:
            return RowCount(table.row_count, estimated=False)
        estimate = await self.storage.estimate(view.table, view.where)
        if estimate > COUNT_CAP * 10:
            return RowCount(estimate, estimated=True)
        exact = await self.storage.count(view.table, view.where, COUNT_CAP)
        if exact > COUNT_CAP:
            return RowCount(max(estimate, exact), estimated=True)
        return RowCount(exact, estimated=False)

    async def stream_rows(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, view: RowView | None = None, *, batch_size: int = 2000
    ) -> AsyncIterator[tuple[list[TableColumn], list[RowOut]]]:
        """Every row of the (filtered, sorted) view, in batches, with the columns: for export.

        Runs a server-side cursor in the caller's transaction; memory stays at one batch.
        """
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.repo.columns(table.id)
        compiled = compile_view(view or RowView(), columns, sa_table(table.id, columns))
        async for batch in self.storage.stream(columns, compiled, batch_size):
            yield columns, render_rows(batch, columns)

    async def get_rows(self, workspace_id: uuid.UUID, table_id: uuid.UUID, ids: Sequence[int]) -> list[RowOut]:
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.repo.columns(table.id)
        return render_rows(await self.storage.get_rows(table.id, columns, ids), columns)

    async def get_row(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_id: int) -> RowOut:
        rows = await self.get_rows(workspace_id, table_id, [row_id])
        if not rows:
            raise NotFound("Row not found.")
        return rows[0]

    async def cell_history(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        row_id: int,
        column_id: uuid.UUID | None,
        offset: int,
        limit: int,
    ) -> tuple[list[CellHistoryOut], int]:
        """Changes of one row (or one of its cells), newest first."""
        table = await self.tables.get(workspace_id, table_id)
        items, total = await self.repo.history(table.id, row_id, column_id, offset, limit)
        return [CellHistoryOut.model_validate(i) for i in items], total

    # parsing -------------------------------------------------------------------------------

    @staticmethod
    def _parse_cells(
        by_key: Mapping[str, TableColumn], cells: Mapping[str, Any], index: int, errors: list[RowError]
    ) -> dict[uuid.UUID, Any]:
        parsed: dict[uuid.UUID, Any] = {}
        for key, value in cells.items():
            column = by_key.get(key)
            if column is None:
                errors.append(RowError(index, key[:100], "no such column in this table"))
                continue
            try:
                parsed[column.id] = parse_value(column.type, value)
            except InvalidValue as exc:
                errors.append(RowError(index, key, str(exc)))
        return parsed

    @staticmethod
    def _keys(columns: Sequence[TableColumn]) -> dict[str, TableColumn]:
        return {str(c.id): c for c in columns}

    # writing -------------------------------------------------------------------------------

    async def append_rows(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        actor_id: uuid.UUID | None,
        source: CellSource = CellSource.IMPORT,
        key_column_id: uuid.UUID | None = None,
        reject_invalid: bool = False,
        batch_size: int = DEFAULT_BATCH,
    ) -> AppendResult:
        """Append rows (cells keyed by column id) in batches, COPY for the inserts.

        With `key_column_id`, a row whose key value already exists updates that row instead
        (upsert; the oldest row wins when a key repeats). With `reject_invalid`, rows with a bad
        cell are skipped and listed in `rejected`; otherwise any bad cell raises Unprocessable
        with every error in `details` (the caller's transaction then rolls back: all or nothing).
        Everything runs in the caller's transaction; a long import should call this once per
        chunk in its own unit of work, since a long transaction holds back outbox readers.
        """
        table = await self.tables.get(workspace_id, table_id, lock=True)
        columns = await self.repo.columns(table.id)
        by_key = self._keys(columns)
        key_column = next((c for c in columns if c.id == key_column_id), None) if key_column_id else None
        if key_column_id and key_column is None:
            raise NotFound("Key column not found.")
        if key_column is not None:
            await self.tables.ensure_indexes(table, [key_column])  # each batch looks its keys up
        result = AppendResult()
        errors: list[RowError] = []
        index = 0
        batch: list[dict[uuid.UUID, Any]] = []
        async for raw in _aiter(rows):
            row_errors: list[RowError] = []
            parsed = self._parse_cells(by_key, raw, index, row_errors)
            if row_errors:
                if reject_invalid:
                    result.rejected.extend(row_errors)
                else:
                    errors.extend(row_errors[: MAX_ERRORS - len(errors)])
            elif not errors:
                batch.append(parsed)
            index += 1
            if len(batch) >= batch_size:
                await self._append_batch(table, columns, batch, key_column, actor_id, source, result)
                batch = []
        if errors:
            raise Unprocessable(
                f"{len(errors)} cell(s) are not valid; nothing was written.",
                code="invalid_rows",
                details=[e.as_detail() for e in errors],
            )
        if batch:
            await self._append_batch(table, columns, batch, key_column, actor_id, source, result)
        return result

    async def _append_batch(
        self,
        table: DataTable,
        columns: Sequence[TableColumn],
        batch: list[dict[uuid.UUID, Any]],
        key_column: TableColumn | None,
        actor_id: uuid.UUID | None,
        source: CellSource,
        result: AppendResult,
    ) -> None:
        inserts = batch
        if key_column is not None:
            inserts = []
            first_by_key: dict[Any, dict[uuid.UUID, Any]] = {}
            for cells in batch:
                key = cells.get(key_column.id)
                if key is None:
                    inserts.append(cells)
                elif key in first_by_key:
                    first_by_key[key].update(cells)  # a repeated key within the batch: later cells win
                else:
                    first_by_key[key] = cells
            existing = await self.storage.find_by_values(table.id, columns, key_column, list(first_by_key))
            changes: dict[int, dict[uuid.UUID, Any]] = {}
            for key, cells in first_by_key.items():
                if key in existing:
                    changes[existing[key]] = cells
                else:
                    inserts.append(cells)
            if changes:
                locked = await self.storage.lock_rows(table.id, columns, list(changes))
                await self._write(table, columns, locked, changes, actor_id, source)
                result.updated += len(changes)
        if not inserts:
            return
        ids = await self.storage.reserve_ids(table.id, len(inserts))
        values = [[cells.get(c.id) for c in columns] for cells in inserts]
        await self.storage.copy_rows(table.id, columns, ids, values, actor_id)
        await self._recompute_formulas(table, columns, None, ids)  # issue 10: formulas of new rows
        await self.repo.add_row_count(table.id, len(ids))
        await self.outbox.emit_row_batches(
            table.workspace_id,
            table.id,
            OutboxEventType.ROWS_CREATED,
            ids,
            {"source": source.value, "actor_id": str(actor_id) if actor_id else None},
        )
        result.inserted += len(ids)
        result.row_ids.extend(ids)

    async def update_rows(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        patches: Sequence[RowPatch],
        *,
        actor_id: uuid.UUID | None,
        source: CellSource = CellSource.BULK,
    ) -> dict[int, int]:
        """Update many rows at once, all or nothing: any bad cell, unknown row or stale version
        (when a patch carries one) is a 422 listing every problem; returns each patched row's
        version after the write (a row whose values did not change keeps its version)."""
        table, columns = await self.tables.with_columns(workspace_id, table_id)
        by_key = self._keys(columns)
        errors: list[RowError] = []
        changes: dict[int, dict[uuid.UUID, Any]] = {}
        for index, patch in enumerate(patches):
            if patch.id in changes:
                errors.append(RowError(index, None, "this row appears twice in the request"))
                continue
            changes[patch.id] = self._parse_cells(by_key, patch.cells, index, errors)
        # Lock and read only the columns being written: their old values are all the diff needs.
        touched = {cid for cells in changes.values() for cid in cells}
        locked = await self.storage.lock_rows(table.id, [c for c in columns if c.id in touched], list(changes))
        for index, patch in enumerate(patches):
            current = locked.get(patch.id)
            if current is None:
                errors.append(RowError(index, None, f"no row {patch.id} in this table"))
            elif patch.version is not None and patch.version != current.version:
                errors.append(RowError(index, None, f"stale version {patch.version}; the row is at {current.version}"))
        if errors:
            raise Unprocessable(
                f"{len(errors)} problem(s) in the update; nothing was written.",
                code="invalid_rows",
                details=[e.as_detail() for e in errors[:MAX_ERRORS]],
            )
        written = await self._write(table, columns, locked, changes, actor_id, source)
        if _derives(columns):  # formulas and lookups may have written these rows again
            return await self.storage.versions(table.id, list(changes))
        return {row_id: written.get(row_id, locked[row_id].version) for row_id in changes}

    async def write_cell(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        row_id: int,
        column_id: uuid.UUID,
        value: Any,
        version: int,
        *,
        actor_id: uuid.UUID | None,
        source: CellSource = CellSource.USER,
    ) -> RowOut:
        """Edit one cell if the row is still at `version`; otherwise 409 with the current value."""
        table, columns = await self.tables.with_columns(workspace_id, table_id)
        column = next((c for c in columns if c.id == column_id), None)
        if column is None:
            raise NotFound("Column not found.")
        try:
            parsed = parse_value(column.type, value)
        except InvalidValue as exc:
            raise Unprocessable(
                str(exc), code="invalid_cell", details=[{"column_id": str(column_id), "message": str(exc)}]
            ) from None
        locked = await self.storage.lock_rows(table.id, [column], [row_id])
        current = locked.get(row_id)
        if current is None:
            raise NotFound("Row not found.")
        if current.version != version:
            raise Conflict(
                "The row changed since you read it.",
                code="stale_version",
                details={
                    "row_id": row_id,
                    "column_id": str(column_id),
                    "current_version": current.version,
                    "current_value": render_value(column.type, current.values.get(column.id)),
                },
            )
        await self._write(table, columns, locked, {row_id: {column.id: parsed}}, actor_id, source, always=True)
        return render_row((await self.storage.get_rows(table.id, columns, [row_id]))[0], columns)

    async def _write(
        self,
        table: DataTable,
        columns: Sequence[TableColumn],
        locked: Mapping[int, StoredRow],
        changes: Mapping[int, Mapping[uuid.UUID, Any]],
        actor_id: uuid.UUID | None,
        source: CellSource,
        *,
        always: bool = False,
    ) -> dict[int, int]:
        """Apply parsed cell changes to locked rows: data, history and outbox, in this transaction.

        Returns the written rows' versions after the write (before any formula or lookup of the
        table writes them again: `_derives`)."""
        by_id = {c.id: c for c in columns}
        history: list[HistoryEntry] = []
        groups: dict[tuple[uuid.UUID, ...], list[tuple[int, list[Any]]]] = {}
        for row_id, cells in changes.items():
            old_row = locked[row_id]
            changed = {
                cid: value
                for cid, value in cells.items()
                if always or value != old_row.values.get(cid) or str(cid) in (old_row.invalid or {})
            }
            if not changed:
                continue
            for cid, value in changed.items():
                ctype = by_id[cid].type
                history.append(
                    HistoryEntry(
                        row_id,
                        cid,
                        render_value(ctype, old_row.values.get(cid)),
                        render_value(ctype, value),
                    )
                )
            key = tuple(sorted(changed, key=str))
            groups.setdefault(key, []).append((row_id, [changed[cid] for cid in key]))
        versions: dict[int, int] = {}
        for key, items in groups.items():
            versions |= await self.storage.update_rows(
                table.id, [by_id[cid] for cid in key], [i for i, _ in items], [v for _, v in items], actor_id
            )
        await self.repo.add_history(table.workspace_id, table.id, history, source, actor_id)
        if not history:
            return versions
        # issue 10: formulas reading the written cells (docs/columns.md)
        await self._recompute_formulas(
            table, columns, {e.column_id for e in history}, sorted({e.row_id for e in history})
        )
        actor = str(actor_id) if actor_id else None
        if len(history) == 1:
            entry = history[0]
            await self.outbox.emit(
                table.workspace_id,
                OutboxEventType.CELL_UPDATED,
                f"{table.id}:{entry.row_id}",
                {
                    "row_id": entry.row_id,
                    "column_id": str(entry.column_id),
                    "value": entry.new_value,
                    "old_value": entry.old_value,
                    "version": locked[entry.row_id].version + 1,
                    "source": source.value,
                    "actor_id": actor,
                },
                table_id=table.id,
            )
            return versions
        row_ids = sorted({e.row_id for e in history})
        column_ids = sorted({str(e.column_id) for e in history})
        await self.outbox.emit_row_batches(
            table.workspace_id,
            table.id,
            OutboxEventType.ROWS_UPDATED,
            row_ids,
            {"column_ids": column_ids, "source": source.value, "actor_id": actor},
        )
        return versions

    async def delete_rows(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, ids: Sequence[int], *, actor_id: uuid.UUID | None
    ) -> int:
        """Delete rows by id, all or nothing: an unknown id is a 422 and nothing is deleted."""
        table = await self.tables.get(workspace_id, table_id, lock=True)
        unique = sorted(set(ids))
        deleted = await self.storage.delete_rows(table.id, unique)
        if len(deleted) != len(unique):
            missing = sorted(set(unique) - set(deleted))
            raise Unprocessable(
                f"{len(missing)} row(s) do not exist in this table; nothing was deleted.",
                code="invalid_rows",
                details=[{"row_id": m, "message": "no such row"} for m in missing[:MAX_ERRORS]],
            )
        await self.repo.add_row_count(table.id, -len(deleted))
        await self.outbox.emit_row_batches(
            workspace_id,
            table.id,
            OutboxEventType.ROWS_DELETED,
            deleted,
            {"actor_id": str(actor_id) if actor_id else None},
        )
        return len(deleted)

    async def merge_rows(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        keep_id: int,
        merge_ids: Sequence[int],
        *,
        actor_id: uuid.UUID | None,
    ) -> RowOut:
        """Dedupe's merge: fill the kept row's blank cells from the others (in the given order),
        then delete the others. History records the filled cells with source `dedupe`."""
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.repo.columns(table.id)
        others = [i for i in dict.fromkeys(merge_ids) if i != keep_id]
        locked = await self.storage.lock_rows(table.id, columns, [keep_id, *others])
        missing = [i for i in [keep_id, *others] if i not in locked]
        if missing:
            raise Unprocessable("Some rows do not exist.", code="invalid_rows", details={"missing": missing})
        kept = locked[keep_id]
        fill: dict[uuid.UUID, Any] = {}
        for column in columns:
            if not _is_blank(kept.values.get(column.id)):
                continue
            for other in others:
                value = locked[other].values.get(column.id)
                if not _is_blank(value):
                    fill[column.id] = value
                    break
        if fill:
            await self._write(table, columns, locked, {keep_id: fill}, actor_id, CellSource.DEDUPE)
        if others:
            await self.delete_rows(workspace_id, table_id, others, actor_id=actor_id)
        return render_row((await self.storage.get_rows(table.id, columns, [keep_id]))[0], columns)

    async def set_cell_states(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        column_id: uuid.UUID,
        states: Sequence[tuple[int, dict[str, Any] | None]],
    ) -> None:
        """Record computed cells' state and provenance (queued, running, error, provider, cost...)."""
        table = await self.tables.get(workspace_id, table_id)
        await self.storage.set_meta(table.id, column_id, [r for r, _ in states], [s for _, s in states])
        await self.outbox.emit_row_batches(
            workspace_id,
            table.id,
            OutboxEventType.ROWS_UPDATED,
            [r for r, _ in states],
            {"column_ids": [str(column_id)], "source": "state", "actor_id": None},
        )

    # -- issue 10: computed columns write their results (docs/columns.md) -------------------------

    async def write_computed(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        values: Mapping[int, Mapping[uuid.UUID, Any]],
        *,
        only_empty: frozenset[uuid.UUID] = frozenset(),
        source: CellSource = CellSource.ENRICHMENT,
    ) -> ComputedWrite:
        """Write computed values: rows that no longer exist are skipped, cells of `only_empty`
        columns are written only when empty, values that do not fit the column's type are reported
        (not written). History and outbox as for any edit, in the caller's transaction."""
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.repo.columns(table.id)
        by_id = {c.id: c for c in columns}
        result = ComputedWrite()
        locked = await self.storage.lock_rows(table.id, columns, sorted(values))
        changes: dict[int, dict[uuid.UUID, Any]] = {}
        for row_id, cells in values.items():
            current = locked.get(row_id)
            if current is None:
                result.missing_rows.add(row_id)
                continue
            for column_id, value in cells.items():
                column = by_id.get(column_id)
                if column is None:
                    continue
                if column_id in only_empty and not _is_blank(current.values.get(column_id)):
                    result.kept.add((row_id, column_id))
                    continue
                try:
                    changes.setdefault(row_id, {})[column_id] = parse_value(column.type, value)
                except InvalidValue as exc:
                    result.invalid[(row_id, column_id)] = str(exc)
        if changes:
            await self._write(table, columns, locked, changes, None, source)
        result.written = {(r, c) for r, cells in changes.items() for c in cells}
        return result

    async def write_derived(
        self,
        table: DataTable,
        column: TableColumn,
        ids: Sequence[int],
        values: Sequence[Any],
        meta_ids: Sequence[int],
        metas: Sequence[dict[str, Any] | None],
    ) -> None:
        """Derived values (formulas): stored values and cell states, no history; one event batch."""
        if ids:
            await self.storage.update_rows(table.id, [column], ids, [[v] for v in values], None)
        if meta_ids:
            await self.storage.set_meta(table.id, column.id, meta_ids, metas)
        touched = sorted({*ids, *meta_ids})
        await self.outbox.emit_row_batches(
            table.workspace_id,
            table.id,
            OutboxEventType.ROWS_UPDATED,
            touched,
            {"column_ids": [str(column.id)], "source": CellSource.FORMULA.value, "actor_id": None},
        )

    async def _recompute_formulas(
        self, table: DataTable, columns: Sequence[TableColumn], changed: set[uuid.UUID] | None, ids: Sequence[int]
    ) -> None:
        formulas = recompute.formulas_reading(columns, changed)
        if formulas and ids:
            await recompute.recompute(self, table, columns, formulas, ids)
        if ids:  # issue 10 item 7: lookups whose key (or only-if) columns were written
            await lookup.recompute_reading(self, table, columns, changed, ids)


def _derives(columns: Sequence[TableColumn]) -> bool:
    """Whether a write to this table can be followed by derived writes (formulas, lookups)."""
    return any(c.kind in (ColumnKind.FORMULA, ColumnKind.LOOKUP) for c in columns)


async def _aiter(
    rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
) -> AsyncIterator[Mapping[str, Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row
