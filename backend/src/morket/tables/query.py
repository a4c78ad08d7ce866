"""A view of a table's rows: the filter tree, the sort and the quick search, and their SQL.

The tree arrives as data (pydantic), is checked against the columns' types (a bad operator or
value is a 422 naming the condition) and compiles to a parameterised SQLAlchemy expression over
the physical table; no user text ever becomes an identifier.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    def group(self, group: FilterGroup, path: str) -> sa.ColumnElement[bool] | None:
        parts = []
        for index, item in enumerate(group.conditions):
            where = f"{path}.conditions.{index}"
            part = self.group(item, where) if isinstance(item, FilterGroup) else self.condition(item, where)
            if part is not None:
                parts.append(part)
        if not parts:
            return None
        return sa.and_(*parts) if group.conjunction is Conjunction.AND else sa.or_(*parts)

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
        # PostgreSQL's defaults (NULLS LAST ascending, FIRST descending) so a (column, _id) btree serves both.
        order_by.append(col.asc() if key.direction is SortDirection.ASC else col.desc())
    if compiler.errors:
        raise Unprocessable("The view is not valid for this table.", code="invalid_view", details=compiler.errors)
    first_desc = bool(view.sort) and view.sort[0].direction is SortDirection.DESC
    order_by.append(table.c["_id"].desc() if first_desc else table.c["_id"].asc())
    return CompiledView(table, sa.and_(*clauses) if clauses else None, order_by)
