"""The import's column converters give exactly what `parse_value` gives, cell for cell: the fast
path may refuse a value (then `parse_value` decides), never accept it differently."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from morket.imports.convert import convert_column, fast_converter
from morket.models import ColumnType
from morket.tables.types import InvalidValue, parse_value

TYPES = [t for t in ColumnType]

# Text that looks like each type, near misses of it, and anything at all.
_LOOKALIKES = st.one_of(
    st.from_regex(r"\A[ ]?[-+]?[0-9]{1,12}([.,][0-9]{0,6})?%?[ ]?\Z"),
    st.from_regex(r"\A\$?[0-9]{1,3}(,[0-9]{3}){0,3}(\.[0-9]{2})?\Z"),
    st.sampled_from(["NaN", "Infinity", "-inf", "1e30", "9" * 31, "1_000", " 7 ", "1e-7", "0x10", "٣"]),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"),
    st.sampled_from(
        ["2024-02-30", "20240229", " 2024-02-29", "2024-02-29 ", "0000-01-01", "9999-12-31T23:59:59-05:00"]
    ),
    st.from_regex(r"\A[ ]?[a-z0-9.+]{1,10}@[a-z0-9-]{1,10}(\.[a-z]{2,4}){1,2}[ ]?\Z"),
    st.from_regex(r"\A(https?://)?(www\.)?[a-z0-9-]{1,10}\.[a-z]{2,4}(/[a-z0-9?=&]*)?\Z"),
    st.from_regex(r"\A\+?[0-9 ().\-/x]{1,20}\Z"),
    st.sampled_from(["yes", "No", " TRUE ", "x", "on", "off", "checked", "maybe", "2", "Y"]),
    st.text(max_size=30),
)


def _parse(column_type: ColumnType, value: str) -> tuple[bool, Any]:
    try:
        return True, parse_value(column_type, value)
    except InvalidValue:
        return False, None


@given(st.sampled_from(TYPES), _LOOKALIKES)
def test_fast_converter_agrees_with_parse_value_when_it_accepts(column_type: ColumnType, value: str) -> None:
    fast = fast_converter(column_type)
    if fast is None or not value.strip():
        return
    try:
        converted = fast(value)
    except Exception:
        return
    ok, expected = _parse(column_type, value)
    assert ok, f"fast path accepted {value!r} as {column_type}, parse_value refuses it"
    assert converted == expected and type(converted) is type(expected)
    if hasattr(expected, "as_tuple"):
        assert converted.as_tuple() == expected.as_tuple()  # the same Decimal, exponent included
    if hasattr(expected, "tzinfo"):
        assert converted.tzinfo == expected.tzinfo


@given(st.sampled_from(TYPES), st.lists(st.one_of(st.none(), _LOOKALIKES), max_size=20))
def test_convert_column_is_parse_value_cell_by_cell(column_type: ColumnType, values: list[str | None]) -> None:
    cells = [None if v is None or not v.strip() else v for v in values]
    errors: dict[int, str] = {}
    converted = convert_column(column_type, cells, errors)
    assert len(converted) == len(cells)
    for index, value in enumerate(cells):
        if value is None:
            assert converted[index] is None and index not in errors
            continue
        ok, expected = _parse(column_type, value)
        if ok:
            assert index not in errors and converted[index] == expected
        else:
            assert converted[index] is None and errors[index]


def test_examples() -> None:
    errors: dict[int, str] = {}
    numbers = convert_column(ColumnType.NUMBER, ["1,500", "12", None, "abc", "5%"], errors)
    assert [str(n) if n is not None else None for n in numbers] == ["1500", "12", None, None, "5"]
    assert errors == {3: "not a number"}
    errors = {}
    emails = convert_column(ColumnType.EMAIL, [" a@b.io ", "nope"], errors)
    assert emails == ["a@b.io", None] and errors == {1: "not an email address"}
