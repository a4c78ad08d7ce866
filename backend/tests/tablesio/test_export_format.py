"""CSV injection escaping and value formatting of exports (pure)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from morket.tables.export import FORMULA_STARTS, cell_text, csv_batch, csv_header, escape_formula


def test_formula_starts_are_escaped() -> None:
    for text in ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]:
        assert escape_formula(text) == "'" + text
    assert escape_formula("plain") == "plain"
    assert escape_formula("a=b") == "a=b"


def test_values_are_written_as_values() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(Decimal("-5")) == "-5"  # a number is not a formula
    assert cell_text(Decimal("1200.50")) == "1200.50"
    assert cell_text(-3) == "-3"
    assert cell_text(date(2024, 1, 5)) == "2024-01-05"
    assert cell_text(datetime(2024, 1, 5, 10, tzinfo=UTC)) == "2024-01-05T10:00:00+00:00"
    assert cell_text(["=a", "b"]) == "'=a, b"
    assert cell_text({"k": "=v"}) == '{"k":"=v"}'
    assert cell_text("=1+1") == "'=1+1"


def test_header_has_bom_and_is_escaped() -> None:
    data = csv_header(["Name", "=evil"])
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig") == "Name,'=evil\r\n"


@given(st.lists(st.lists(st.text(max_size=20), min_size=1, max_size=4), min_size=1, max_size=20))
def test_csv_round_trip_never_starts_a_cell_with_a_formula(rows: list[list[str]]) -> None:
    data = csv_batch(rows).decode()
    parsed = list(csv.reader(io.StringIO(data, newline="")))
    assert len(parsed) == len(rows)
    for original, back in zip(rows, parsed, strict=True):
        for before, after in zip(original, back, strict=True):
            assert not after.startswith(FORMULA_STARTS)
            assert after == ("'" + before if before.startswith(FORMULA_STARTS) else before)
