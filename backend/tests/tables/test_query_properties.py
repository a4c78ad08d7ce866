"""Property test: a filtered, searched and sorted page from PostgreSQL equals a plain-Python
evaluation of the same filter tree and sort over the same rows."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from morket.core.config import Settings
from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.models import ColumnType
from morket.tables.query import (
    Conjunction,
    FilterCondition,
    FilterGroup,
    FilterOperator,
    RowView,
    SortDirection,
    SortKey,
)
from morket.tables.schemas import ColumnCreate, TableCreate
from morket.tables.service import RowService, TableService

NAME, SIZE, FOUNDED, PUBLIC, TAGS = (uuid.UUID(int=i) for i in range(1, 6))
TYPES = {
    NAME: ColumnType.TEXT,
    SIZE: ColumnType.NUMBER,
    FOUNDED: ColumnType.DATE,
    PUBLIC: ColumnType.CHECKBOX,
    TAGS: ColumnType.MULTI_SELECT,
}
TEXTS = st.text(alphabet="abAB %_", min_size=0, max_size=3)
NUMBERS = st.integers(-3, 3).map(lambda i: Decimal(i) / 2)
DATES = st.sampled_from([date(2020, 1, d) for d in (1, 2, 3, 4)])
TAG_LISTS = st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True)

ROW = st.fixed_dictionaries(
    {
        NAME: st.none() | TEXTS,
        SIZE: st.none() | NUMBERS,
        FOUNDED: st.none() | DATES,
        PUBLIC: st.none() | st.booleans(),
        TAGS: st.none() | TAG_LISTS,
    }
)


def _conditions() -> st.SearchStrategy[FilterCondition]:
    def cond(column: uuid.UUID, operator: FilterOperator, value: st.SearchStrategy[Any]) -> Any:
        return value.map(lambda v: FilterCondition(column_id=column, operator=operator, value=v))

    empties = st.sampled_from([FilterOperator.IS_EMPTY, FilterOperator.IS_NOT_EMPTY])
    options = [
        st.builds(FilterCondition, column_id=st.sampled_from(list(TYPES)), operator=empties),
        *(cond(NAME, op, TEXTS) for op in (FilterOperator.EQ, FilterOperator.NEQ)),
        *(
            cond(NAME, op, TEXTS.filter(bool))
            for op in (FilterOperator.CONTAINS, FilterOperator.NOT_CONTAINS, FilterOperator.STARTS_WITH)
        ),
        cond(NAME, FilterOperator.IN, st.lists(TEXTS, min_size=1, max_size=3)),
        *(
            cond(column, op, values)
            for column, values in ((SIZE, NUMBERS.map(float)), (FOUNDED, DATES.map(date.isoformat)))
            for op in (
                FilterOperator.EQ,
                FilterOperator.NEQ,
                FilterOperator.GT,
                FilterOperator.GTE,
                FilterOperator.LT,
                FilterOperator.LTE,
            )
        ),
        cond(SIZE, FilterOperator.BETWEEN, st.lists(NUMBERS.map(float), min_size=2, max_size=2)),
        cond(FOUNDED, FilterOperator.BETWEEN, st.lists(DATES.map(date.isoformat), min_size=2, max_size=2)),
        cond(SIZE, FilterOperator.IN, st.lists(NUMBERS.map(float), min_size=1, max_size=3)),
        cond(PUBLIC, FilterOperator.EQ, st.booleans()),
        cond(PUBLIC, FilterOperator.NEQ, st.booleans()),
        cond(TAGS, FilterOperator.CONTAINS, st.sampled_from(["x", "y", "z"])),
        cond(TAGS, FilterOperator.IN, TAG_LISTS),
    ]
    return st.one_of(*options)


FILTERS = st.recursive(
    st.builds(
        FilterGroup, conjunction=st.sampled_from(list(Conjunction)), conditions=st.lists(_conditions(), max_size=3)
    ),
    lambda children: st.builds(
        FilterGroup,
        conjunction=st.sampled_from(list(Conjunction)),
        conditions=st.lists(children | _conditions(), max_size=3),
    ),
    max_leaves=6,
)
SORTS = st.lists(
    st.builds(
        SortKey,
        column_id=st.sampled_from([NAME, SIZE, FOUNDED, PUBLIC]),
        direction=st.sampled_from(list(SortDirection)),
    ),
    max_size=2,
    unique_by=lambda k: k.column_id,
)


def _parse(column: uuid.UUID, value: Any) -> Any:
    if TYPES[column] is ColumnType.NUMBER:
        return Decimal(str(value))
    if TYPES[column] is ColumnType.DATE:
        return date.fromisoformat(value)
    return value


def matches(row: dict[uuid.UUID, Any], node: FilterGroup | FilterCondition) -> bool:
    if isinstance(node, FilterGroup):
        results = [matches(row, child) for child in node.conditions]
        if not results:
            return True
        return all(results) if node.conjunction is Conjunction.AND else any(results)
    x = row[node.column_id]
    op = node.operator
    kind = TYPES[node.column_id]
    if op in (FilterOperator.IS_EMPTY, FilterOperator.IS_NOT_EMPTY):
        empty = x is None or x == "" or x == []
        return empty if op is FilterOperator.IS_EMPTY else not empty
    if kind is ColumnType.MULTI_SELECT:
        if op is FilterOperator.CONTAINS:
            return x is not None and node.value in x
        return x is not None and bool(set(x) & set(node.value))
    if kind is ColumnType.CHECKBOX:
        ticked = bool(x)
        return ticked == node.value if op is FilterOperator.EQ else ticked != node.value
    if kind is ColumnType.TEXT and op in (
        FilterOperator.CONTAINS,
        FilterOperator.NOT_CONTAINS,
        FilterOperator.STARTS_WITH,
    ):
        needle = node.value.lower()
        if op is FilterOperator.STARTS_WITH:
            return x is not None and x.lower().startswith(needle)
        found = x is not None and needle in x.lower()
        return found if op is FilterOperator.CONTAINS else not found
    if op is FilterOperator.IN:
        return x is not None and x in [_parse(node.column_id, v) for v in node.value]
    if op is FilterOperator.BETWEEN:
        low, high = (_parse(node.column_id, v) for v in node.value)
        return x is not None and low <= x <= high
    value = _parse(node.column_id, node.value)
    if op is FilterOperator.EQ:
        return x is not None and x == value
    if op is FilterOperator.NEQ:
        return x is None or x != value
    if x is None:
        return False
    return {
        FilterOperator.GT: x > value,
        FilterOperator.GTE: x >= value,
        FilterOperator.LT: x < value,
        FilterOperator.LTE: x <= value,
    }[op]


def expected_order(rows: dict[int, dict[uuid.UUID, Any]], view: RowView) -> list[int]:
    ids = [
        row_id
        for row_id, row in rows.items()
        if (view.filter is None or matches(row, view.filter))
        and (not view.q or (row[NAME] is not None and view.q.lower() in row[NAME].lower()))
    ]

    def compare(a: int, b: int) -> int:
        for key in view.sort:
            x, y = rows[a][key.column_id], rows[b][key.column_id]
            if x == y:
                continue
            # PostgreSQL's defaults: NULLs last ascending, first descending.
            if x is None or y is None:
                result = 1 if x is None else -1
                return result if key.direction is SortDirection.ASC else -result
            result = -1 if x < y else 1
            return result if key.direction is SortDirection.ASC else -result
        descending = bool(view.sort) and view.sort[0].direction is SortDirection.DESC
        return (b - a) if descending else (a - b)

    return sorted(ids, key=functools.cmp_to_key(compare))


class Harness:
    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = make_engine(settings.database_url, pool_size=2)
        self.sessions = make_sessionmaker(self.engine)
        self.workspace_id = uuid.uuid4()
        self.table_id = uuid.uuid4()
        self.columns: dict[uuid.UUID, str] = {}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def setup(self) -> None:
        from sqlalchemy import text

        async with unit_of_work(self.sessions) as session:
            await session.execute(
                text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'Props', :slug)"),
                {"id": self.workspace_id, "slug": f"props-{self.workspace_id.hex[:8]}"},
            )
            out = await TableService(session).create_table(
                self.workspace_id,
                None,
                TableCreate(
                    name="Props",
                    columns=[ColumnCreate(name=str(i), type=t) for i, t in enumerate(TYPES.values())],
                ),
            )
        assert out.columns is not None
        self.table_id = out.id
        self.columns = {logical: str(real.id) for logical, real in zip(TYPES, out.columns, strict=True)}

    def real(self, view: RowView) -> RowView:
        """The view with the logical column ids replaced by the table's."""

        def swap(node: FilterGroup | FilterCondition) -> FilterGroup | FilterCondition:
            if isinstance(node, FilterGroup):
                return FilterGroup(conjunction=node.conjunction, conditions=[swap(c) for c in node.conditions])
            return node.model_copy(update={"column_id": uuid.UUID(self.columns[node.column_id])})

        tree = swap(view.filter) if view.filter is not None else None
        assert tree is None or isinstance(tree, FilterGroup)
        sort = [k.model_copy(update={"column_id": uuid.UUID(self.columns[k.column_id])}) for k in view.sort]
        return RowView(filter=tree, sort=sort, q=view.q)

    async def check(self, rows: list[dict[uuid.UUID, Any]], view: RowView) -> None:
        async with unit_of_work(self.sessions) as session:
            service = RowService(session)
            written = await service.append_rows(
                self.workspace_id,
                self.table_id,
                [{self.columns[k]: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in rows],
                actor_id=None,
            )
            try:
                got, meta = await service.query(self.workspace_id, self.table_id, self.real(view), 0, 1000)
                expected = expected_order(dict(zip(written.row_ids, rows, strict=True)), view)
                assert [r.id for r in got] == expected
                assert meta["total"] == len(expected) and meta["total_estimated"] is False
            finally:
                await session.rollback()

    async def walk(self, rows: list[dict[uuid.UUID, Any]], view: RowView, page_size: int) -> None:
        """Walking every page by cursor yields exactly the filtered rows in sort order, once each."""
        async with unit_of_work(self.sessions) as session:
            service = RowService(session)
            written = await service.append_rows(
                self.workspace_id,
                self.table_id,
                [{self.columns[k]: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in rows],
                actor_id=None,
            )
            try:
                expected = expected_order(dict(zip(written.row_ids, rows, strict=True)), view)
                seen: list[int] = []
                cursor = None
                for _ in range(len(expected) + 2):
                    got, meta = await service.query(
                        self.workspace_id, self.table_id, self.real(view), 0, page_size, count=False, cursor=cursor
                    )
                    assert len(got) <= page_size
                    seen.extend(r.id for r in got)
                    cursor = meta["next_cursor"]
                    assert (cursor is not None) == (len(got) == page_size)
                    if cursor is None:
                        break
                assert seen == expected
            finally:
                await session.rollback()

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(settings: Settings) -> Iterator[Harness]:
    h = Harness(settings)
    h.run(h.setup())
    yield h
    h.close()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    rows=st.lists(ROW, max_size=25),
    tree=st.none() | FILTERS,
    sort=SORTS,
    q=st.none() | TEXTS.filter(bool),
)
def test_filter_sort_search_equal_plain_python(
    harness: Harness, rows: list[dict[uuid.UUID, Any]], tree: FilterGroup | None, sort: list[SortKey], q: str | None
) -> None:
    harness.run(harness.check(rows, RowView(filter=tree, sort=sort, q=q)))


SORTS_UP_TO_3 = st.lists(
    st.builds(
        SortKey,
        column_id=st.sampled_from([NAME, SIZE, FOUNDED, PUBLIC]),
        direction=st.sampled_from(list(SortDirection)),
    ),
    max_size=3,
    unique_by=lambda k: k.column_id,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    rows=st.lists(ROW, max_size=25),
    tree=st.none() | FILTERS,
    sort=SORTS_UP_TO_3,
    page_size=st.integers(1, 4),
)
def test_walking_pages_by_cursor_yields_the_sorted_rows(
    harness: Harness, rows: list[dict[uuid.UUID, Any]], tree: FilterGroup | None, sort: list[SortKey], page_size: int
) -> None:
    # Few distinct values and many empties: ties and NULLs in every sort key.
    harness.run(harness.walk(rows, RowView(filter=tree, sort=sort), page_size))
