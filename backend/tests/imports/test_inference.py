"""Column type guesses and header detection, from the values real files hold."""

from __future__ import annotations

import pytest

from morket.imports.inference import infer_type, looks_like_header
from morket.models import ColumnType


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["yes", "no", "YES", ""], ColumnType.CHECKBOX),
        (["12%", "5.5 %", "-3%"], ColumnType.PERCENT),
        (["$1,200.50", "$300", "€12"], ColumnType.CURRENCY),
        (["1", "2.5", "-3", "1,234,567", "1e3"], ColumnType.NUMBER),
        (["2024-01-05", "2023-12-31"], ColumnType.DATE),
        (["2024-01-05T10:00:00Z", "2024-01-05 11:30"], ColumnType.DATETIME),
        (["ada@example.com", " bob@x.io "], ColumnType.EMAIL),
        (["https://acme.com/about", "www.beta.io", "gamma.co.uk"], ColumnType.URL),
        (["+1 (555) 123-4567", "555-987-6543", "+44 20 7946 0958"], ColumnType.PHONE),
        (['{"a": 1}', "[1, 2]"], ColumnType.JSON),
        (["Acme", "Beta Inc."], ColumnType.TEXT),
        (["short", "a\nmultiline note"], ColumnType.LONG_TEXT),
        (["x" * 300], ColumnType.LONG_TEXT),
        ([], ColumnType.TEXT),
        (["", "  "], ColumnType.TEXT),
        # One value that does not fit makes the column text: the import never promises a type it cannot store.
        (["1", "2", "n/a"], ColumnType.TEXT),
        (["1234567", "7654321"], ColumnType.NUMBER),
        (["J.Smith", "A.Jones"], ColumnType.TEXT),
    ],
)
def test_infer_type(values: list[str], expected: ColumnType) -> None:
    assert infer_type(values) == expected


def test_header_detection() -> None:
    rows = [["Acme", "12", "ada@acme.com"], ["Beta", "7", "bob@beta.io"]]
    assert looks_like_header(["Company", "Employees", "Email"], rows)
    assert not looks_like_header(["Gamma", "3", "cy@gamma.io"], rows)
    assert looks_like_header(["Name", "Note"], [["Ada", "x"], ["Bob", "y"]])
    assert not looks_like_header(["", ""], rows)
