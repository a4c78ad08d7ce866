"""Every SQL statement on the physical row tables `tabledata.t_<table id hex>`.

One real PostgreSQL table per user table, one typed column per user column (docs/tables.md).
Identifiers are generated from our own uuids (`t_<hex>`, `c_<hex>`, `i_<hex>`) and quoted; user
text only ever travels as bind parameters. Bulk paths go straight to asyncpg inside the session's
transaction: COPY for inserts, one UPDATE ... FROM unnest(...) per set of changed columns.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ColumnType, TableColumn, physical_table_name
from morket.tables.query import CompiledView, Cursor, keyset_branches
from morket.tables.types import TEXT_LIKE, storage_type

SCHEMA = "tabledata"
# How long a read waits to build an on-demand index behind a writer before serving without it.
LOCK_WAIT_MS = 500
SYSTEM_COLUMNS = ("_id", "_version", "_created_at", "_updated_at", "_created_by", "_updated_by", "_meta", "_invalid")


def _qi(name: str) -> str:
    # Every identifier is ours (t_/c_/i_ + hex), but quote anyway so a mistake cannot become SQL.
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"refusing identifier {name!r}")
    return f'"{name}"'


def qualified(table_id: uuid.UUID) -> str:
    return f"{SCHEMA}.{_qi(physical_table_name(table_id))}"


def _index_name(table_id: uuid.UUID, column_id: uuid.UUID) -> str:
    return f"i_{table_id.hex}_{column_id.hex[:20]}"


def _sa_type(column_type: ColumnType) -> sa.types.TypeEngine[Any]:
    if column_type in TEXT_LIKE:
        return sa.Text()
    if column_type in (ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT):
        return sa.Numeric(asdecimal=True)
    if column_type is ColumnType.CHECKBOX:
        return sa.Boolean()
    if column_type is ColumnType.DATE:
        return sa.Date()
    if column_type is ColumnType.DATETIME:
        return sa.DateTime(timezone=True)
    if column_type is ColumnType.MULTI_SELECT:
        return ARRAY(sa.Text())
    return JSONB()


def sa_table(table_id: uuid.UUID, columns: Sequence[TableColumn]) -> sa.FromClause:
    """A SQLAlchemy Core view of the physical table, for composing parameterised queries.

    It is aliased by a digest of the column types: asyncpg caches prepared statements by their
    text, and a cached SELECT whose result types changed (a column type change in any process)
    fails with InvalidCachedStatementError; a new text per column layout never hits a stale plan.
    Built once per layout: constructing the Table and its column collections was a quarter of
    the CPU of a page of rows (docs/request-path.md).
    """
    return _sa_table(table_id, tuple((column.physical_name, column.type) for column in columns))


@lru_cache(maxsize=1024)
def _sa_table(table_id: uuid.UUID, layout: tuple[tuple[str, ColumnType], ...]) -> sa.FromClause:
    digest = ",".join(f"{name}:{column_type.value}" for name, column_type in layout)
    alias = "r" + hashlib.blake2s(digest.encode(), digest_size=6).hexdigest()
    metadata = sa.MetaData()
    return sa.Table(
        physical_table_name(table_id),
        metadata,
        sa.Column("_id", sa.BigInteger, primary_key=True),
        sa.Column("_version", sa.Integer),
        sa.Column("_created_at", sa.DateTime(timezone=True)),
        sa.Column("_updated_at", sa.DateTime(timezone=True)),
        sa.Column("_created_by", sa.Uuid),
        sa.Column("_updated_by", sa.Uuid),
        sa.Column("_meta", JSONB),
        sa.Column("_invalid", JSONB),
        *(sa.Column(name, _sa_type(column_type)) for name, column_type in layout),
        schema=SCHEMA,
    ).alias(alias)


def _pg_array_type(column_type: ColumnType) -> str:
    """The array type a bulk UPDATE passes a column's new values in."""
    if column_type in TEXT_LIKE:
        return "text[]"
    if column_type in (ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT):
        return "numeric[]"
    if column_type is ColumnType.CHECKBOX:
        return "boolean[]"
    if column_type is ColumnType.DATE:
        return "date[]"
    if column_type is ColumnType.DATETIME:
        return "timestamptz[]"
    # Arrays of arrays cannot be ragged, so multi-select and JSON values travel as JSON text.
    return "text[]"


def _copy_value(column_type: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if column_type is ColumnType.JSON:
        return json.dumps(value, separators=(",", ":"))
    return value


def _update_value(column_type: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if column_type in (ColumnType.JSON, ColumnType.MULTI_SELECT):
        return json.dumps(value, separators=(",", ":"))
    return value


def _from_update_array(column_type: ColumnType, ref: str) -> str:
    if column_type is ColumnType.JSON:
        return f"{ref}::jsonb"
    if column_type is ColumnType.MULTI_SELECT:
        return f"ARRAY(SELECT jsonb_array_elements_text({ref}::jsonb))"
    return ref


@dataclass(frozen=True)
class StoredRow:
    id: int
    version: int
    values: dict[uuid.UUID, Any]  # stored values by column id
    invalid: dict[str, Any] | None
    meta: dict[str, Any] | None
    created_at: Any
    updated_at: Any


class TableStorage:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _driver(self) -> Any:
        """The asyncpg connection under the session, inside the session's transaction."""
        return await driver_in_transaction(self.session)

    # DDL ---------------------------------------------------------------------------------

    async def create_table(self, table_id: uuid.UUID) -> None:
        await self.session.execute(
            sa.text(
                f"CREATE TABLE {qualified(table_id)} ("
                "_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                " _version integer NOT NULL DEFAULT 1,"
                " _created_at timestamptz NOT NULL DEFAULT now(),"
                " _updated_at timestamptz NOT NULL DEFAULT now(),"
                " _created_by uuid, _updated_by uuid,"
                " _meta jsonb, _invalid jsonb)"
                # Room on every page for a new version of its rows: an edit that changes no indexed
                # column is then a HOT update and touches no index at all (docs/tables.md).
                " WITH (fillfactor = 90)"
            )
        )

    async def drop_table(self, table_id: uuid.UUID) -> None:
        await self.session.execute(sa.text(f"DROP TABLE IF EXISTS {qualified(table_id)}"))

    async def add_column(self, table_id: uuid.UUID, column: TableColumn, *, index: bool) -> None:
        ddl = storage_type(column.type).sql
        await self.session.execute(
            sa.text(f"ALTER TABLE {qualified(table_id)} ADD COLUMN {_qi(column.physical_name)} {ddl}")
        )
        if index:
            await self.create_index(table_id, column)

    async def create_index(self, table_id: uuid.UUID, column: TableColumn) -> None:
        if not storage_type(column.type).sortable:
            return
        # (column, _id) serves a sort on the column with the row id as the tie-breaker, both ways.
        await self.session.execute(
            sa.text(
                f"CREATE INDEX IF NOT EXISTS {_qi(_index_name(table_id, column.id))} "
                f"ON {qualified(table_id)} ({_qi(column.physical_name)}, _id)"
            )
        )

    async def indexed(self, table_id: uuid.UUID, columns: Sequence[TableColumn]) -> set[uuid.UUID]:
        """The columns among `columns` that have their sort index."""
        names = {_index_name(table_id, c.id): c.id for c in columns}
        if not names:
            return set()
        result = await self.session.execute(
            sa.text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relname = ANY(:names)"
            ),
            {"schema": SCHEMA, "names": list(names)},
        )
        return {names[row[0]] for row in result.all()}

    async def ensure_indexes(self, table_id: uuid.UUID, columns: Sequence[TableColumn]) -> list[TableColumn]:
        """Create the missing sort indexes of `columns` (on demand, docs/tables.md); returns the new ones.

        In the caller's transaction when there is one (the index then commits with it); on a read
        session (autocommit) in a short transaction of its own that gives up after LOCK_WAIT rather
        than queue behind a long write: the page is then served without the index, and the next
        view tries again. An advisory lock keeps two processes from building the same index.
        """
        wanted = [c for c in columns if storage_type(c.type).sortable]
        if not wanted:
            return []
        missing = [c for c in wanted if c.id not in await self.indexed(table_id, wanted)]
        if not missing:
            return []
        driver = await self._driver()

        async def build() -> list[TableColumn]:
            created = []
            for column in missing:
                name = _index_name(table_id, column.id)
                await driver.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)
                if await driver.fetchval("SELECT to_regclass($1) IS NULL", f"{SCHEMA}.{name}"):
                    await driver.execute(
                        f"CREATE INDEX {_qi(name)} ON {qualified(table_id)} ({_qi(column.physical_name)}, _id)"
                    )
                    created.append(column)
            return created

        if driver.is_in_transaction():
            return await build()
        try:
            async with driver.transaction():
                await driver.execute(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}")
                return await build()
        except asyncpg.LockNotAvailableError:
            return []

    async def drop_index(self, table_id: uuid.UUID, column: TableColumn) -> None:
        await self.session.execute(sa.text(f"DROP INDEX IF EXISTS {SCHEMA}.{_qi(_index_name(table_id, column.id))}"))

    async def analyze(self, table_id: uuid.UUID) -> None:
        await self.session.execute(sa.text(f"ANALYZE {qualified(table_id)}"))

    async def drop_column(self, table_id: uuid.UUID, column: TableColumn) -> None:
        await self.session.execute(
            sa.text(f"ALTER TABLE {qualified(table_id)} DROP COLUMN IF EXISTS {_qi(column.physical_name)}")
        )
        await self.session.execute(
            sa.text(
                f"UPDATE {qualified(table_id)} "
                "SET _invalid = _invalid - CAST(:key AS text), _meta = _meta - CAST(:key AS text) "
                "WHERE _invalid ? CAST(:key AS text) OR _meta ? CAST(:key AS text)"
            ),
            {"key": str(column.id)},
        )

    async def change_column_type(self, table_id: uuid.UUID, column: TableColumn, new_type: ColumnType) -> int:
        """Cast the column to the new type; cells that do not convert keep their text in `_invalid`.

        Returns the number of cells that did not convert. The column's sort index, if it had one,
        is dropped (the caller recreates it for the new type).
        """
        target = storage_type(new_type)
        name = _qi(column.physical_name)
        table = qualified(table_id)
        key = str(column.id)
        if column.type is ColumnType.JSON:
            as_text = f"CASE jsonb_typeof({name}) WHEN 'string' THEN {name} #>> '{{}}' ELSE {name}::text END"
        elif column.type is ColumnType.MULTI_SELECT:
            as_text = f"array_to_string({name}, ', ')"
        else:
            as_text = f"{name}::text"
        if new_type is ColumnType.MULTI_SELECT:
            cast = f"string_to_array({as_text}, ', ')"
            convertible = "true"
        elif new_type is ColumnType.JSON:
            cast = f"coalesce(tabledata.try_jsonb({as_text}), to_jsonb({as_text}))"
            convertible = "true"
        elif target.try_cast is None:
            cast = as_text
            convertible = "true"
        else:
            cast = f"tabledata.try_{target.try_cast}({as_text})"
            convertible = f"{cast} IS NOT NULL"
        # Keep the originals first, then cast: a cell that does not convert becomes NULL plus its text.
        result = await self.session.execute(
            sa.text(
                f"UPDATE {table} SET _invalid = coalesce(_invalid, '{{}}'::jsonb) "
                f"|| jsonb_build_object(CAST(:key AS text), {as_text}) "
                f"WHERE {name} IS NOT NULL AND NOT ({convertible})"
            ),
            {"key": key},
        )
        await self.drop_index(table_id, column)
        using = "NULL" if convertible == "true" and cast == "NULL" else cast
        await self.session.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {target.sql} USING {using}"))
        return int(getattr(result, "rowcount", 0) or 0)

    # rows ----------------------------------------------------------------------------------

    async def reserve_ids(self, table_id: uuid.UUID, count: int) -> list[int]:
        driver = await self._driver()
        rows = await driver.fetch(
            "SELECT nextval(pg_get_serial_sequence($1, '_id')) FROM generate_series(1, $2)",
            f"{SCHEMA}.{_qi(physical_table_name(table_id))}",
            count,
        )
        return [int(row[0]) for row in rows]

    async def copy_rows(
        self,
        table_id: uuid.UUID,
        columns: Sequence[TableColumn],
        ids: Sequence[int],
        rows: Sequence[Sequence[Any]],
        actor_id: uuid.UUID | None,
    ) -> None:
        """COPY new rows (values aligned with `columns`) under ids from `reserve_ids`."""
        driver = await self._driver()
        names = ["_id", "_created_by", "_updated_by", *(c.physical_name for c in columns)]
        types = [c.type for c in columns]
        records = [
            (row_id, actor_id, actor_id, *(_copy_value(t, v) for t, v in zip(types, values, strict=True)))
            for row_id, values in zip(ids, rows, strict=True)
        ]
        await driver.copy_records_to_table(
            physical_table_name(table_id), schema_name=SCHEMA, columns=names, records=records
        )

    async def lock_rows(
        self, table_id: uuid.UUID, columns: Sequence[TableColumn], ids: Sequence[int]
    ) -> dict[int, StoredRow]:
        """The current rows with these ids, locked for update (missing ids are absent)."""
        stmt = _lock_statement(sa_table(table_id, columns))
        rows = (await self.session.execute(stmt, {"ids": list(ids)})).mappings().all()
        return {row["_id"]: _stored(row, columns) for row in rows}

    async def versions(self, table_id: uuid.UUID, ids: Sequence[int]) -> dict[int, int]:
        """The current version of each of these rows (missing ids are absent)."""
        driver = await self._driver()
        rows = await driver.fetch(
            f"SELECT _id, _version FROM {qualified(table_id)} WHERE _id = ANY($1::bigint[])", list(ids)
        )
        return {int(row[0]): int(row[1]) for row in rows}

    async def update_rows(
        self,
        table_id: uuid.UUID,
        columns: Sequence[TableColumn],
        ids: Sequence[int],
        rows: Sequence[Sequence[Any]],
        actor_id: uuid.UUID | None,
    ) -> dict[int, int]:
        """Set `columns` to `rows[i]` on row `ids[i]`, bump versions, clear their invalid markers;
        returns the updated rows' new versions (missing ids are absent)."""
        driver = await self._driver()
        sets = []
        params: list[Any] = [list(ids)]
        unnests = ["$1::bigint[]"]
        aliases = ["id"]
        for index, column in enumerate(columns):
            params.append([_update_value(column.type, row[index]) for row in rows])
            unnests.append(f"${index + 2}::{_pg_array_type(column.type)}")
            aliases.append(f"v{index}")
            sets.append(f"{_qi(column.physical_name)} = {_from_update_array(column.type, f'v.v{index}')}")
        params.append(actor_id)
        params.append([str(c.id) for c in columns])
        actor_ref = f"${len(params) - 1}::uuid"
        keys_ref = f"${len(params)}::text[]"
        sql = (
            f"UPDATE {qualified(table_id)} AS t SET {', '.join(sets)}, _version = t._version + 1, "
            f"_updated_at = now(), _updated_by = {actor_ref}, "
            f"_invalid = nullif(t._invalid - {keys_ref}, '{{}}'::jsonb) "
            f"FROM unnest({', '.join(unnests)}) AS v({', '.join(aliases)}) WHERE t._id = v.id "
            "RETURNING t._id, t._version"
        )
        return {int(row[0]): int(row[1]) for row in await driver.fetch(sql, *params)}

    async def delete_rows(self, table_id: uuid.UUID, ids: Sequence[int]) -> list[int]:
        driver = await self._driver()
        rows = await driver.fetch(
            f"DELETE FROM {qualified(table_id)} WHERE _id = ANY($1::bigint[]) RETURNING _id", list(ids)
        )
        return [int(row[0]) for row in rows]

    async def set_meta(
        self, table_id: uuid.UUID, column_id: uuid.UUID, ids: Sequence[int], meta: Sequence[Any]
    ) -> None:
        """Replace one column's cell state/provenance on these rows (None clears it)."""
        driver = await self._driver()
        await driver.execute(
            f"UPDATE {qualified(table_id)} AS t SET _meta = nullif(CASE WHEN v.m IS NULL "
            "THEN coalesce(t._meta, '{}'::jsonb) - $3::text "
            "ELSE coalesce(t._meta, '{}'::jsonb) || jsonb_build_object($3::text, v.m::jsonb) END, '{}'::jsonb) "
            "FROM unnest($1::bigint[], $2::text[]) AS v(id, m) WHERE t._id = v.id",
            list(ids),
            [None if m is None else json.dumps(m) for m in meta],
            str(column_id),
        )

    @staticmethod
    def _select(view: CompiledView) -> sa.Select[Any]:
        stmt = sa.select(view.table)
        if view.where is not None:
            stmt = stmt.where(view.where)
        return stmt.order_by(*view.order_by)

    async def page(
        self,
        columns: Sequence[TableColumn],
        view: CompiledView,
        offset: int,
        limit: int,
        cursor: Cursor | None = None,
    ) -> list[StoredRow]:
        """One page: `limit` rows from `offset`, or the `limit` rows after `cursor` (keyset)."""
        stmt = _keyset_select(view, cursor, limit) if cursor else self._select(view).offset(offset).limit(limit)
        rows = (await self.session.execute(stmt)).mappings().all()
        keys = [(c.id, c.physical_name) for c in columns]
        return [_stored_by(row, keys) for row in rows]

    async def stream(
        self, columns: Sequence[TableColumn], view: CompiledView, batch_size: int
    ) -> AsyncIterator[list[StoredRow]]:
        """Every row of the view in its order, in batches, through a server-side cursor."""
        result = await self.session.stream(self._select(view).execution_options(yield_per=batch_size))
        keys = [(c.id, c.physical_name) for c in columns]
        async for partition in result.mappings().partitions(batch_size):
            yield [_stored_by(row, keys) for row in partition]

    async def get_rows(
        self, table_id: uuid.UUID, columns: Sequence[TableColumn], ids: Sequence[int]
    ) -> list[StoredRow]:
        table = sa_table(table_id, columns)
        stmt = sa.select(table).where(table.c._id == sa.any_(_ids_param(ids))).order_by(table.c._id)
        return [_stored(row, columns) for row in (await self.session.execute(stmt)).mappings().all()]

    async def count(self, table: sa.FromClause, where: sa.ColumnElement[bool], cap: int) -> int:
        """Matching rows, counting at most `cap + 1` so a broad filter never scans the whole table."""
        inner = sa.select(sa.literal(1)).select_from(table).where(where).limit(cap + 1).subquery()
        return int((await self.session.execute(sa.select(sa.func.count()).select_from(inner))).scalar_one())

    async def estimate(self, table: sa.FromClause, where: sa.ColumnElement[bool]) -> int:
        """The planner's estimate of matching rows (EXPLAIN, no execution)."""
        stmt = sa.select(sa.literal(1)).select_from(table).where(where)
        compiled = stmt.compile(dialect=self.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        conn = await self.session.connection()
        result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), _positional(compiled))
        plan = result.scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    async def find_by_values(
        self, table_id: uuid.UUID, columns: Sequence[TableColumn], key: TableColumn, values: Sequence[Any]
    ) -> dict[Any, int]:
        """Row ids by key value for the values that exist (the oldest row when a key repeats)."""
        table = sa_table(table_id, columns)
        col = table.c[key.physical_name]
        param = sa.bindparam("keys", value=list(values), type_=ARRAY(_sa_type(key.type)))
        stmt = sa.select(col, sa.func.min(table.c._id)).where(col == sa.any_(param)).group_by(col)
        return {row[0]: int(row[1]) for row in (await self.session.execute(stmt)).all()}


async def driver_in_transaction(session: AsyncSession) -> Any:
    """The asyncpg connection under `session`, inside the session's transaction.

    SQLAlchemy begins its transaction lazily, at the first statement it sends itself: until then
    one statement goes through it so raw ones join the transaction. Once asyncpg reports a
    transaction open, that round trip is skipped (it was three of a one-row edit's thirteen
    statements, docs/tables.md). A read session (autocommit) never has one open: the statement
    is sent each time, as before.
    """
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None or not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return driver


def _keyset_select(view: CompiledView, cursor: Cursor, limit: int) -> sa.Select[Any]:
    """The `limit` rows after `cursor` in the view's order.

    With one sort key (or none) every branch is an index range on that column's (column, _id)
    btree, each limited to `limit` rows and tagged with its rank, so a page deep in the table
    costs what the first page does. With several keys no index serves the order anyway; the
    branches are one OR in a single query (one top-N sort, as an offset page).
    """
    branches = keyset_branches(view, cursor)
    if not branches:
        return sa.select(view.table).where(sa.false()).limit(0)
    if len(view.sort_columns) > 1:
        stmt = sa.select(view.table).where(sa.or_(*branches))
        if view.where is not None:
            stmt = stmt.where(view.where)
        return stmt.order_by(*view.order_by).limit(limit)
    parts = []
    for rank, branch in enumerate(branches):
        part = sa.select(view.table, sa.literal(rank).label("_rank")).where(branch)
        if view.where is not None:
            part = part.where(view.where)
        parts.append(sa.select(part.order_by(*view.order_by).limit(limit).subquery()))
    merged = sa.union_all(*parts).subquery()
    order: list[sa.ColumnElement[Any]] = [merged.c["_rank"]]
    for column, desc in view.sort_columns:
        order.append(merged.c[column.physical_name].desc() if desc else merged.c[column.physical_name].asc())
    order.append(merged.c["_id"].desc() if view.id_desc else merged.c["_id"].asc())
    return sa.select(merged).order_by(*order).limit(limit)


@lru_cache(maxsize=1024)
def _lock_statement(table: sa.FromClause) -> sa.Select[Any]:
    """The row lock of one table layout (`sa_table` gives one object per layout), built once: the
    statement's construction was a tenth of a one-row edit's Python time. Ids come as `ids`."""
    ids = sa.bindparam("ids", type_=ARRAY(sa.BigInteger))
    return sa.select(table).where(table.c._id == sa.any_(ids)).order_by(table.c._id).with_for_update()


def _ids_param(ids: Sequence[int]) -> sa.BindParameter[Any]:
    # One array parameter, not one per id: a 50,000-row call stays within the protocol's limits.
    return sa.bindparam("ids", value=list(ids), type_=ARRAY(sa.BigInteger))


def _positional(compiled: sa.sql.compiler.Compiled) -> tuple[Any, ...]:
    params = compiled.params
    order = getattr(compiled, "positiontup", None) or list(params)
    return tuple(params[name] for name in order)


def _stored(row: Any, columns: Sequence[TableColumn]) -> StoredRow:
    return _stored_by(row, [(c.id, c.physical_name) for c in columns])


def _stored_by(row: Any, keys: Sequence[tuple[uuid.UUID, str]]) -> StoredRow:
    """`keys`: (column id, physical name) of each column, computed once for a batch of rows."""
    return StoredRow(
        id=int(row["_id"]),
        version=int(row["_version"]),
        values={column_id: row[name] for column_id, name in keys},
        invalid=row["_invalid"],
        meta=row["_meta"],
        created_at=row["_created_at"],
        updated_at=row["_updated_at"],
    )
