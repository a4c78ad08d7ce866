"""Pure parts of search: which column is which prospect field, the document, the query language,
and the escaping of highlighted snippets."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from morket.models import ColumnType, TableColumn
from morket.search.backends.postgres import marked_html
from morket.search.documents import (
    MARK_END,
    MARK_START,
    FieldPlan,
    build_document,
    clean_text,
    domain_terms,
    email_terms,
    field_of,
    providers_of,
)
from morket.search.query import Term, parse, tsquery_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def column(name: str, kind: ColumnType = ColumnType.TEXT, config: dict[str, object] | None = None) -> TableColumn:
    return TableColumn(id=uuid.uuid4(), name=name, type=kind, config=config or {}, hidden=False, position=0)


def test_fields_are_recognised_by_type_config_and_name() -> None:
    assert field_of(column("Contact", ColumnType.EMAIL)) == "email"
    assert field_of(column("Work email (found)", config={"field": "email"})) == "email"
    assert field_of(column("Company name")) == "company"
    assert field_of(column("Job title")) == "title"
    assert field_of(column("City")) == "location"
    assert field_of(column("Sector")) == "industry"
    assert field_of(column("Website", ColumnType.URL)) == "domain"
    assert field_of(column("First name")) == "name"
    assert field_of(column("Notes")) is None
    assert field_of(column("Employees", ColumnType.NUMBER)) is None


def test_a_document_from_a_row() -> None:
    cols = [
        column("First name"),
        column("Last name"),
        column("Email", ColumnType.EMAIL),
        column("Company"),
        column("Employer"),  # a second company column: it is "other" text, the first one wins
        column("Notes", ColumnType.LONG_TEXT),
        column("Employees", ColumnType.NUMBER),
        column("Tags", ColumnType.MULTI_SELECT),
    ]
    plan = FieldPlan.of(cols)
    ids = [str(c.id) for c in cols]
    cells = dict(
        zip(
            ids,
            ["Jane", "Doe", "jane.doe@stripe.com", "Stripe", "Old Co", "Met\x02 at SaaStr", 40, ["a", "b"]],
            strict=True,
        )
    )
    meta = {ids[2]: {"state": "done", "provider": "hunter"}, ids[3]: {"state": "done", "provider": "apollo"}}
    doc = build_document(uuid.uuid4(), uuid.uuid4(), "Leads", plan, 7, 3, cells, meta, NOW, NOW)
    assert (doc.name, doc.email, doc.company) == ("Jane Doe", "jane.doe@stripe.com", "Stripe")
    assert doc.other is not None and "Old Co" in doc.other and "a, b" in doc.other
    assert MARK_START not in doc.other  # a cell cannot forge a highlight marker
    assert doc.providers == ["apollo", "hunter"]
    assert ids[6] not in doc.cells and doc.cells[ids[3]] == "Stripe"
    assert doc.label == "Jane Doe"


def test_email_and_domain_terms() -> None:
    assert email_terms("Jane.Doe@Stripe.com") == "jane.doe@stripe.com jane doe stripe.com stripe"
    assert domain_terms("https://www.stripe.com/pricing?x=1") == "stripe.com stripe"
    assert domain_terms("acme.io") == "acme.io acme"
    assert email_terms(None) is None and domain_terms("") is None
    assert providers_of({"a": {"provider": "apollo"}, "b": "junk", "c": {"state": "error"}}) == ["apollo"]
    assert clean_text("x" * 5000) == "x" * 2000


def test_query_language() -> None:
    parsed = parse('stripe "vice president" acme* cfo stripe')
    assert parsed.terms == (Term("stripe", False), Term("acme", True), Term("cfo", False))
    assert parsed.phrases == (("vice", "president"),)
    assert [t.edits for t in parse("ab abc abcdef").terms] == [0, 1, 2]
    text = tsquery_text(parse("o'brien \\x"), {"o'brien": ["obrien"]})
    # Only the last word is also a prefix (it may be unfinished).
    assert text == "('o''brien' | 'obrien') & ('x' | 'x':*)"
    assert parse('"" *** "').empty


@given(st.text(st.characters(blacklist_characters="\x02\x03"), max_size=80))
def test_highlights_escape_everything_but_the_marks(value: str) -> None:
    # Stored text never holds the markers (clean_text drops control characters), hence the alphabet.
    marked = marked_html(MARK_START + value + MARK_END)
    inner = marked.removeprefix("<mark>").removesuffix("</mark>")
    assert html.unescape(inner) == value
    for dangerous in ("<", ">", '"'):
        assert dangerous not in inner
