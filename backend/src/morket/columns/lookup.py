"""Lookup columns: a value (or a list of values) from another table of the same workspace, found
by matching a key column of this table against a key column of that one.

```json
{"name": "Company size", "type": "number", "kind": "lookup",
 "config": {"table_id": "<companies>",
            "match": {"column_id": "<this table's Domain>", "target_column_id": "<companies' Domain>"},
            "return_column_id": "<companies' Employees>", "mode": "first"}}
```

Free (no provider, no credits) and derived like a formula: computed when the column is saved,
on new rows, when the match column (or a column `only_if` reads) is written, on a recompute
request, and when the other table's rows change (the worker's outbox follower
`columns.lookup_refresh`, below). Each recompute is one set-based UPDATE
(`lookup_repository.py`). Values are written without cell history, like formulas: the history of
the key and of the other table says why they changed. docs/columns.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.columns.lookup_repository import LookupRepository, first_value_compatible, list_compatible
from morket.core.errors import NotFound, Unprocessable
from morket.models import ColumnKind, DataTable, OutboxEventType, TableColumn
from morket.outbox.repository import StoredEvent
from morket.tables.query import FilterGroup

if TYPE_CHECKING:
    from morket.columns.kinds import KindContext
    from morket.tables.service import RowService

MAX_LIST = 100
CONSUMER = "columns.lookup_refresh"
POLL_SECONDS = 0.5
SOURCE = "lookup"  # the `source` of the outbox events of lookup writes (not an edit for auto-run)
log = logging.getLogger("morket.columns")


class LookupMode(enum.StrEnum):
    FIRST = "first"  # the first non-empty value among the matching rows (by row id)
    LIST = "list"  # the non-empty values of up to `limit` matching rows, in row id order


class LookupMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column_id: uuid.UUID = Field(description="this table's key column")
    target_column_id: uuid.UUID = Field(description="the other table's key column")


class LookupConfig(BaseModel):
    """A lookup column: which table, how rows match, what comes back."""

    model_config = ConfigDict(extra="forbid")

    table_id: uuid.UUID = Field(description="another table of the same workspace")
    match: LookupMatch
    return_column_id: uuid.UUID = Field(description="the other table's column whose value is returned")
    mode: LookupMode = LookupMode.FIRST
    limit: int = Field(default=10, ge=1, le=MAX_LIST, description="list mode: at most this many values")
    only_if: FilterGroup | None = Field(default=None, description="compute only on rows matching this filter tree")


def _config_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(["config", *(str(p) for p in e["loc"])]), "message": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def parse_config(config: Mapping[str, Any]) -> LookupConfig:
    return LookupConfig.model_validate(config)


class LookupKind:
    kind = ColumnKind.LOOKUP

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
        from morket.columns.kinds import _filter_problems, _invalid

        try:
            parsed = parse_config(config)
        except ValidationError as exc:
            raise _invalid(_config_errors(exc)) from None
        problems: list[dict[str, Any]] = []
        if parsed.table_id == ctx.table_id:
            raise _invalid([{"field": "config.table_id", "message": "a lookup reads another table"}])
        other = ctx.foreign_tables.get(parsed.table_id)
        if other is None:  # the same answer for a table that does not exist and one of another workspace
            raise _invalid([{"field": "config.table_id", "message": "no such table in this workspace"}])
        mine = {c.id: c for c in ctx.columns}
        theirs = {c.id: c for c in other}
        match = mine.get(parsed.match.column_id)
        if match is None:
            problems.append({"field": "config.match.column_id", "message": "no such column in this table"})
        elif match.id == ctx.column_id:
            problems.append({"field": "config.match.column_id", "message": "a lookup cannot match on itself"})
        elif match.kind in (ColumnKind.LOOKUP, ColumnKind.FORMULA):
            problems.append(
                {
                    "field": "config.match.column_id",
                    "message": f"a lookup matches on a data or enriched column, not a {match.kind.value} column",
                }
            )
        if parsed.match.target_column_id not in theirs:
            problems.append({"field": "config.match.target_column_id", "message": "no such column in that table"})
        returned = theirs.get(parsed.return_column_id)
        if returned is None:
            problems.append({"field": "config.return_column_id", "message": "no such column in that table"})
        elif ctx.column_type is not None:
            if parsed.mode is LookupMode.LIST and not list_compatible(ctx.column_type):
                problems.append(
                    {"field": "config.mode", "message": "a list lookup fills a json or multi_select column"}
                )
            elif parsed.mode is LookupMode.FIRST and not first_value_compatible(ctx.column_type, returned.type):
                problems.append(
                    {
                        "field": "config.return_column_id",
                        "message": f"a {ctx.column_type.value} column cannot hold the {returned.type.value} values"
                        f" of that column (use the same type, text, long_text or json)",
                    }
                )
        if parsed.only_if is not None:
            problems.extend(_filter_problems(parsed.only_if, ctx))
        if problems:
            raise _invalid(problems)
        stored = parsed.model_dump(mode="json", exclude_none=True)
        if parsed.mode is LookupMode.FIRST:
            stored.pop("limit", None)
        return stored


def _reads(config: LookupConfig) -> set[uuid.UUID]:
    """This table's columns whose change recomputes the lookup: the key and what only-if reads."""
    reads = {config.match.column_id}

    def walk(group: FilterGroup) -> None:
        for item in group.conditions:
            if isinstance(item, FilterGroup):
                walk(item)
            else:
                reads.add(item.column_id)

    if config.only_if is not None:
        walk(config.only_if)
    return reads


async def recompute_column(
    rows: RowService,
    table: DataTable,
    columns: Sequence[TableColumn],
    column: TableColumn,
    row_ids: Sequence[int] | None = None,
) -> list[int]:
    """Recompute one lookup column on `row_ids` (every row when None), in the caller's
    transaction; returns the rows whose value changed. A missing other table (deleted since)
    or column leaves the cells as they are: the column's config says what is wrong when saved."""
    try:
        config = parse_config(column.config)
    except ValidationError:
        return []
    try:
        other_columns = await rows.tables.columns(table.workspace_id, config.table_id)
    except NotFound:
        return []
    by_id = {c.id: c for c in columns}
    theirs = {c.id: c for c in other_columns}
    match = by_id.get(config.match.column_id)
    target = theirs.get(config.match.target_column_id)
    returned = theirs.get(config.return_column_id)
    if match is None or target is None or returned is None:
        return []
    other = await rows.tables.get(table.workspace_id, config.table_id)
    await rows.tables.ensure_indexes(other, [target])  # the (key, _id) btree the scoped recompute reads
    try:
        changed = await LookupRepository(rows.session).recompute(
            table_id=table.id,
            columns=columns,
            dest=column,
            match=match,
            only_if=config.only_if,
            other_id=other.id,
            other_columns=other_columns,
            target=target,
            returned=returned,
            mode=config.mode.value,
            limit=config.limit,
            row_ids=row_ids,
        )
    except Unprocessable:  # only_if names a column deleted since: leave the cells
        return []
    if changed:
        await rows.outbox.emit_row_batches(
            table.workspace_id,
            table.id,
            OutboxEventType.ROWS_UPDATED,
            changed,
            {"column_ids": [str(column.id)], "source": SOURCE, "actor_id": None},
        )
        # Formulas may read a lookup column.
        from morket.columns import recompute

        formulas = recompute.formulas_reading(columns, {column.id})
        if formulas:
            await recompute.recompute(rows, table, columns, formulas, changed)
    return changed


async def recompute_reading(
    rows: RowService,
    table: DataTable,
    columns: Sequence[TableColumn],
    changed: set[uuid.UUID] | None,
    row_ids: Sequence[int],
) -> None:
    """The hook of `RowService` writes: lookups of this table whose key (or only-if) columns were
    written on `row_ids` (every lookup when `changed` is None: new rows)."""
    for column in columns:
        if column.kind is not ColumnKind.LOOKUP:
            continue
        try:
            reads = _reads(parse_config(column.config))
        except ValidationError:
            continue
        if changed is None or reads & changed:
            await recompute_column(rows, table, columns, column, row_ids)


async def recompute_now(
    session: AsyncSession, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID
) -> int:
    """The recompute command: every row of a lookup column, now; the cells that changed."""
    from morket.tables.service import RowService

    rows = RowService(session)
    table = await rows.tables.get(workspace_id, table_id)
    columns = await rows.repo.columns(table.id)
    column = next((c for c in columns if c.id == column_id), None)
    if column is None:
        raise NotFound("Column not found.")
    if column.kind is not ColumnKind.LOOKUP:
        raise Unprocessable(
            f"A {column.kind.value} column is not a lookup column.",
            code="invalid_run",
            details=[{"field": "column_id", "message": "not a lookup column"}],
        )
    config = parse_config(column.config)
    try:
        await rows.tables.get(workspace_id, config.table_id)
    except NotFound:
        raise Unprocessable(
            "The table this lookup reads no longer exists.",
            code="invalid_column_config",
            details=[{"field": "config.table_id", "message": "no such table in this workspace"}],
        ) from None
    return len(await recompute_column(rows, table, columns, column))


# -- the other table changed: the worker's outbox follower ----------------------------------------


def _relevant(event: StoredEvent, config: LookupConfig) -> bool:
    if event.event_type in (OutboxEventType.ROWS_CREATED, OutboxEventType.ROWS_DELETED):
        return True
    if event.event_type is OutboxEventType.ROWS_UPDATED:
        if event.payload.get("source") == "state":
            return False
        columns = set(event.payload.get("column_ids", []))
    elif event.event_type is OutboxEventType.CELL_UPDATED:
        columns = {event.payload.get("column_id")}
    elif event.event_type in (OutboxEventType.COLUMN_UPDATED, OutboxEventType.COLUMN_DELETED):
        columns = {event.payload.get("id")}
    else:
        return False
    return bool(columns & {str(config.match.target_column_id), str(config.return_column_id)})


async def refresh_dependents(session: AsyncSession, events: Sequence[StoredEvent]) -> int:
    """Recompute (all rows, set-based) every lookup column that reads a table these events
    changed, once per batch of events; returns the cells that changed. Idempotent: a replayed
    batch recomputes to the same values and writes nothing."""
    from morket.tables.service import RowService

    by_table: dict[uuid.UUID, list[StoredEvent]] = {}
    workspace_of: dict[uuid.UUID, uuid.UUID] = {}
    for event in events:
        if event.table_id is not None:
            by_table.setdefault(event.table_id, []).append(event)
            workspace_of[event.table_id] = event.workspace_id
    rows = RowService(session)
    repo = LookupRepository(session)
    total = 0
    for source_table, table_events in by_table.items():
        for table_id, column_id in await repo.lookups_of_table(workspace_of[source_table], source_table):
            try:
                table = await rows.tables.get(workspace_of[source_table], table_id)
            except NotFound:
                continue
            columns = await rows.repo.columns(table.id)
            column = next((c for c in columns if c.id == column_id), None)
            if column is None:
                continue
            try:
                config = parse_config(column.config)
            except ValidationError:
                continue
            if any(_relevant(e, config) for e in table_events):
                total += len(await recompute_column(rows, table, columns, column))
    return total


async def run_lookup_refresh(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    """Follow the outbox until `stop`: lookups follow the tables they read."""
    from morket.outbox.consumer import OutboxConsumer

    async def handle(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
        await refresh_dependents(session, events)

    consumer = OutboxConsumer(CONSUMER, None, sessions, session_handler=handle)
    while not stop.is_set():
        try:
            handled = await consumer.run_once()
        except Exception:
            log.exception("lookup refresh failed; retrying")
            handled = 0
        if not handled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
