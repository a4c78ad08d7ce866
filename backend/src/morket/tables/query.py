"""A view of a table's rows: the filter tree, the sort and the quick search, and their SQL.

The tree arrives as data (pydantic), is checked against the columns' types (a bad operator or
value is a 422 naming the condition) and compiles to a parameterised SQLAlchemy expression over
the physical table; no user text ever becomes an identifier.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import ARRAY

from morket.core.errors import Unprocessable
from morket.models import ColumnType, TableColumn
from morket.tables.types import TEXT_LIKE, InvalidValue, parse_value, storage_type

MAX_CONDITIONS = 100
MAX_IN_VALUES = 1000
MAX_SORT_KEYS = 5


class FilterOperator(enum.StrEnum):
    EQ = "eq"
    NEQ = "neq"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IN = "in"


class Conjunction(enum.StrEnum):
    AND = "and"
    OR = "or"


class SortDirection(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


class FilterCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column_id: uuid.UUID
    operator: FilterOperator
    value: Any = None


class FilterGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conjunction: Conjunction = Conjunction.AND
    conditions: list[FilterCondition | FilterGroup] = Field(default_factory=list, max_length=MAX_CONDITIONS)


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column_id: uuid.UUID
    direction: SortDirection = SortDirection.ASC


class RowView(BaseModel):
    """What the grid shows: a filter tree, a multi-column sort and a quick search."""

    model_config = ConfigDict(extra="forbid")

    filter: FilterGroup | None = None
    sort: list[SortKey] = Field(default_factory=list, max_length=MAX_SORT_KEYS)
    q: str | None = Field(default=None, max_length=200)


_ORDERED = {FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT, FilterOperator.LTE, FilterOperator.BETWEEN}
_ALWAYS = {FilterOperator.IS_EMPTY, FilterOperator.IS_NOT_EMPTY}
_TEXT_OPS = {
    FilterOperator.EQ,
    FilterOperator.NEQ,
    FilterOperator.CONTAINS,
    FilterOperator.NOT_CONTAINS,
    FilterOperator.STARTS_WITH,
    FilterOperator.IN,
}


def allowed_operators(column_type: ColumnType) -> set[FilterOperator]:
    if column_type in TEXT_LIKE:
        return _TEXT_OPS | _ALWAYS
    if column_type is ColumnType.MULTI_SELECT:
        return {FilterOperator.CONTAINS, FilterOperator.IN} | _ALWAYS
    if column_type is ColumnType.JSON:
        return set(_ALWAYS)
    if column_type is ColumnType.CHECKBOX:
        return {FilterOperator.EQ, FilterOperator.NEQ} | _ALWAYS
    if column_type in (ColumnType.DATE, ColumnType.DATETIME):
        return {FilterOperator.EQ, FilterOperator.NEQ} | _ORDERED | _ALWAYS
    return {FilterOperator.EQ, FilterOperator.NEQ, FilterOperator.IN} | _ORDERED | _ALWAYS


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class _Compiler:
    columns: Mapping[uuid.UUID, TableColumn]
    table: sa.FromClause
    errors: list[dict[str, Any]]
    lookups: dict[uuid.UUID, TableColumn] = field(default_factory=dict)

    def group(self, group: FilterGroup, path: str) -> sa.ColumnElement[bool] | None:
        """The group's condition, or None for "no condition" (an empty group matches every row)."""
        parts = []
        unconditional = False
        for index, item in enumerate(group.conditions):
            where = f"{path}.conditions.{index}"
            part = self.group(item, where) if isinstance(item, FilterGroup) else self.condition(item, where)
            if part is not None:
                parts.append(part)
            elif isinstance(item, FilterGroup):
                unconditional = True  # an empty sub-group (or one of empty groups): true
        if not parts:
            return None
        if group.conjunction is Conjunction.OR:
            # "x OR (an empty group)" is true for every row; dropping the empty group would narrow it.
            return None if unconditional else sa.or_(*parts)
        return sa.and_(*parts)

    def _fail(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def _scalar(self, column: TableColumn, value: Any, path: str) -> Any:
        if value is None or isinstance(value, (list, dict)):
            self._fail(path, f"a single {column.type.value} value is needed")
            return None
        try:
            parsed = parse_value(column.type, value)
        except InvalidValue as exc:
            self._fail(path, str(exc))
            return None
        if parsed is None:
            self._fail(path, "an empty value cannot be compared; use is_empty")
        return parsed

    def condition(self, cond: FilterCondition, path: str) -> sa.ColumnElement[bool] | None:
        column = self.columns.get(cond.column_id)
        if column is None:
            self._fail(path, "no such column in this table")
            return None
        if cond.operator not in allowed_operators(column.type):
            self._fail(path, f"operator {cond.operator.value} does not apply to a {column.type.value} column")
            return None
        col: sa.ColumnElement[Any] = self.table.c[column.physical_name]
        op = cond.operator
        ctype = column.type
        if op in _ALWAYS:
            if ctype in TEXT_LIKE:
                empty = sa.or_(col.is_(None), col == "")
            elif ctype is ColumnType.MULTI_SELECT:
                empty = sa.or_(col.is_(None), sa.func.cardinality(col) == 0)
            else:
                empty = col.is_(None)
            return empty if op is FilterOperator.IS_EMPTY else sa.not_(empty)
        if op in (FilterOperator.CONTAINS, FilterOperator.NOT_CONTAINS, FilterOperator.STARTS_WITH):
            if not isinstance(cond.value, str) or cond.value == "" or len(cond.value) > 1000 or "\x00" in cond.value:
                self._fail(path, "a non-empty text value is needed")
                return None
            if ctype is ColumnType.MULTI_SELECT:
                any_match: sa.ColumnElement[bool] = col.any(cond.value)
                return any_match
            pattern = _like_escape(cond.value)
            if op is FilterOperator.STARTS_WITH:
                return col.ilike(pattern + "%", escape="\\")
            matches = col.ilike("%" + pattern + "%", escape="\\")
            return matches if op is FilterOperator.CONTAINS else sa.or_(col.is_(None), sa.not_(matches))
        if op is FilterOperator.IN:
            if not isinstance(cond.value, list) or not 0 < len(cond.value) <= MAX_IN_VALUES:
                self._fail(path, f"a list of 1 to {MAX_IN_VALUES} values is needed")
                return None
            if ctype is ColumnType.MULTI_SELECT:
                if not all(isinstance(v, str) and v and "\x00" not in v for v in cond.value):
                    self._fail(path, "a list of option names is needed")
                    return None
                options = sa.bindparam(None, value=[str(v) for v in cond.value], type_=ARRAY(sa.Text()))
                overlap: sa.ColumnElement[bool] = col.op("&&")(options)
                return overlap
            values = [self._scalar(column, item, f"{path}.value") for item in cond.value]
            if any(v is None for v in values):
                return None
            listed: sa.ColumnElement[bool] = col.in_(values)
            self.lookups[column.id] = column
            return listed
        if op is FilterOperator.BETWEEN:
            if not isinstance(cond.value, list) or len(cond.value) != 2:
                self._fail(path, "between needs [low, high]")
                return None
            low = self._scalar(column, cond.value[0], f"{path}.value.0")
            high = self._scalar(column, cond.value[1], f"{path}.value.1")
            if low is None or high is None:
                return None
            return col.between(low, high)
        value = self._scalar(column, cond.value, f"{path}.value")
        if value is None:
            return None
        if ctype is ColumnType.CHECKBOX:
            # An empty checkbox is an unticked one.
            col = sa.func.coalesce(col, sa.false())
        if op is FilterOperator.EQ:
            equal: sa.ColumnElement[bool] = col == value
            if ctype is not ColumnType.CHECKBOX:
                self.lookups[column.id] = column
            return equal
        if op is FilterOperator.NEQ:
            # "Not equal to X" includes the empty cells, as spreadsheet users expect.
            return col.is_distinct_from(value)
        comparisons: dict[FilterOperator, sa.ColumnElement[bool]] = {
            FilterOperator.GT: col > value,
            FilterOperator.GTE: col >= value,
            FilterOperator.LT: col < value,
            FilterOperator.LTE: col <= value,
        }
        return comparisons[op]


@dataclass(frozen=True)
class CompiledView:
    table: sa.FromClause  # the physical table the expressions refer to
    where: sa.ColumnElement[bool] | None
    order_by: list[sa.ColumnElement[Any]]
    # The sort keys (column, descending) before the row id tie-breaker, and the tie-breaker's direction.
    sort_columns: tuple[tuple[TableColumn, bool], ...] = ()
    id_desc: bool = False
    # Columns an index would serve: the sort keys, then columns compared by equality (eq, in).
    index_columns: tuple[TableColumn, ...] = ()

    @property
    def signature(self) -> str:
        """What a cursor is bound to: the sort (a cursor is a position in one order)."""
        keys = ",".join(f"{c.id.hex}:{'d' if desc else 'a'}" for c, desc in self.sort_columns)
        return hashlib.blake2s(keys.encode(), digest_size=6).hexdigest()


def compile_view(view: RowView, columns: Sequence[TableColumn], table: sa.FromClause) -> CompiledView:
    """The WHERE and ORDER BY of a view; raises Unprocessable listing every bad condition."""
    by_id = {column.id: column for column in columns}
    compiler = _Compiler(by_id, table, [])
    clauses: list[sa.ColumnElement[bool]] = []
    if view.filter is not None:
        where = compiler.group(view.filter, "filter")
        if where is not None:
            clauses.append(where)
    if view.q:
        if "\x00" in view.q:
            compiler.errors.append({"field": "q", "message": "the search text cannot contain a NUL character"})
        else:
            pattern = "%" + _like_escape(view.q) + "%"
            searchable = [table.c[c.physical_name] for c in columns if c.type in TEXT_LIKE]
            clauses.append(
                sa.or_(*(col.ilike(pattern, escape="\\") for col in searchable)) if searchable else sa.false()
            )
    order_by: list[sa.ColumnElement[Any]] = []
    sort_columns: list[tuple[TableColumn, bool]] = []
    for index, key in enumerate(view.sort):
        column = by_id.get(key.column_id)
        if column is None:
            compiler.errors.append({"field": f"sort.{index}", "message": "no such column in this table"})
            continue
        if not storage_type(column.type).sortable:
            compiler.errors.append(
                {"field": f"sort.{index}", "message": f"a {column.type.value} column cannot be sorted"}
            )
            continue
        col = table.c[column.physical_name]
        sort_columns.append((column, key.direction is SortDirection.DESC))
        # PostgreSQL's defaults (NULLS LAST ascending, FIRST descending) so a (column, _id) btree serves both.
        order_by.append(col.asc() if key.direction is SortDirection.ASC else col.desc())
    if compiler.errors:
        raise Unprocessable("The view is not valid for this table.", code="invalid_view", details=compiler.errors)
    first_desc = bool(view.sort) and view.sort[0].direction is SortDirection.DESC
    order_by.append(table.c["_id"].desc() if first_desc else table.c["_id"].asc())
    wanted = {c.id: c for c, _ in sort_columns} | compiler.lookups
    return CompiledView(
        table, sa.and_(*clauses) if clauses else None, order_by, tuple(sort_columns), first_desc, tuple(wanted.values())
    )


# keyset pagination ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a view's order: the sort values and the id of the last row of a page."""

    values: tuple[Any, ...]  # stored values of the sort columns, in sort order
    row_id: int


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _decode_value(column_type: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if column_type in TEXT_LIKE and isinstance(value, str):
        return value
    if column_type in (ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT) and isinstance(value, str):
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("not a finite number")
        return number
    if column_type is ColumnType.CHECKBOX and isinstance(value, bool):
        return value
    if column_type is ColumnType.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    if column_type is ColumnType.DATETIME and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a datetime without a time zone")
        return moment
    raise ValueError("a value of the wrong type")


def encode_cursor(view: CompiledView, cursor: Cursor) -> str:
    """An opaque, URL-safe token for the position after `cursor` in this view's order."""
    body = {"s": view.signature, "v": [_encode_value(v) for v in cursor.values], "i": cursor.row_id}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(view: CompiledView, token: str) -> Cursor:
    """The position a token names; a 422 when it is not one of ours or was made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict) or not isinstance(body.get("v"), list):
            raise ValueError("not a cursor")
        row_id = body.get("i")
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id < 2**63:
            raise ValueError("not a cursor")
        if body.get("s") != view.signature or len(body["v"]) != len(view.sort_columns):
            raise Unprocessable(
                "The cursor belongs to another sort; start again from the first page.",
                code="invalid_cursor",
                details=[{"field": "cursor", "message": "made for a different sort"}],
            )
        values = tuple(
            _decode_value(column.type, value) for (column, _), value in zip(view.sort_columns, body["v"], strict=True)
        )
    except (ValueError, TypeError, ArithmeticError, RecursionError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable(
            "The cursor is not valid.",
            code="invalid_cursor",
            details=[{"field": "cursor", "message": "not a cursor from this API"}],
        ) from None
    return Cursor(values, row_id)


def _after(col: sa.ColumnElement[Any], value: Any, desc: bool) -> list[sa.ColumnElement[bool]]:
    """Disjoint conditions, in sort order, for "strictly after `value`" in one key.

    NULLs sort last ascending and first descending (PostgreSQL's defaults, as `compile_view`).
    """
    if value is None:
        return [col.is_not(None)] if desc else []
    bound = sa.literal(value, col.type)
    return [col < bound] if desc else [col > bound, col.is_(None)]


def _equal(col: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    if value is None:
        return col.is_(None)
    equal: sa.ColumnElement[bool] = col == sa.literal(value, col.type)
    return equal


def keyset_branches(view: CompiledView, cursor: Cursor) -> list[sa.ColumnElement[bool]]:
    """Disjoint conditions whose rows, taken branch by branch in view order, are the rows after
    the cursor in view order (ties and NULLs included).

    For a single sort key the branches are index ranges on the (column, _id) btree: a row
    comparison `(col, _id) > (v, id)`, then the NULLs; so a deep page costs what the first does.
    """
    table = view.table
    row_id = table.c["_id"]
    id_bound = sa.literal(cursor.row_id, sa.BigInteger())
    id_after = row_id < id_bound if view.id_desc else row_id > id_bound
    keys = [(table.c[c.physical_name], desc) for c, desc in view.sort_columns]
    if not keys:
        return [id_after]
    if len(keys) == 1:
        (col, desc), value = keys[0], cursor.values[0]
        if value is None:
            return [sa.and_(col.is_(None), id_after), *_after(col, None, desc)]
        pair = sa.tuple_(col, row_id)
        bound = sa.tuple_(sa.literal(value, col.type), id_bound)
        return [pair < bound] if desc else [pair > bound, col.is_(None)]
    branches: list[sa.ColumnElement[bool]] = []
    # Rows equal on every key come first (after by id), then those equal on all keys but the last, ...
    for depth in range(len(keys), -1, -1):
        prefix = [_equal(col, value) for (col, _), value in zip(keys[:depth], cursor.values[:depth], strict=True)]
        if depth == len(keys):
            branches.append(sa.and_(*prefix, id_after))
            continue
        col, desc = keys[depth]
        branches.extend(sa.and_(*prefix, after) for after in _after(col, cursor.values[depth], desc))
    return branches
