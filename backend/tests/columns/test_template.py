"""The one `{{Column}}` template parser and renderer (morket/columns/template.py), shared by AI
prompts and HTTP requests: what a reference is, where an unclosed one is, renames."""

from __future__ import annotations

import uuid

import pytest

from morket.columns import template
from morket.columns.ai import parse_template
from morket.models import ColumnKind, ColumnType, TableColumn


def test_references_are_the_shortest_match_with_names_stripped() -> None:
    text = "Hi {{ First name }}{{Domain}}, {{}} and {{a\nb}}"
    assert [(r.name, r.start, r.end) for r in template.refs(text)] == [
        ("First name", 3, 19),
        ("Domain", 19, 29),
        ("", 31, 35),
        ("a\nb", 40, 47),
    ]
    assert list(template.split("a{{X}}b")) == ["a", template.Ref("X", 1, 6), "b"]


@pytest.mark.parametrize(
    ("text", "offset"),
    [("{{A}} {{B", 6), ("{{", 0), ("no refs", None), ("{{A}}", None), ("}} {{A}} x {{", 11)],
)
def test_unclosed_reference_offset(text: str, offset: int | None) -> None:
    assert template.unclosed(text) == offset


def test_whole_and_substitute() -> None:
    assert template.whole("{{ Seats }}") == "Seats"
    assert template.whole("{{A}} and {{B}}") is None  # two references are text, not one value
    assert template.whole("n={{A}}") is None
    assert template.substitute("{{A}}/{{ b }}/x", str.upper) == "A/B/x"


def test_rename_keeps_everything_else_as_written() -> None:
    text = "{{ domain }} {{Other}} {{Domain}}{{Seats"

    def to(name: str) -> str | None:
        return "Website" if name.casefold() == "domain" else None

    assert template.rename(text, to) == "{{Website}} {{Other}} {{Website}}{{Seats"


def test_names_match_columns_whatever_the_case_and_ai_positions() -> None:
    table = uuid.uuid4()
    column = TableColumn(id=uuid.uuid4(), table_id=table, name="First Name", kind=ColumnKind.DATA, type=ColumnType.TEXT)
    assert template.Columns([column]).get("first name") is column
    parts, problems = parse_template("Hello {{first name}}\nfrom {{Nope}} {{", [column])
    assert parts[:3] == ["Hello ", {"column_id": str(column.id)}, "\nfrom "]
    assert [(p["message"], p["line"], p["column"]) for p in problems] == [
        ("no column named 'Nope'", 2, 6),
        ("'{{' is never closed with '}}'", 2, 15),
    ]
