"""Normalization and grouping rules of dedupe, with hypothesis properties."""

from __future__ import annotations

import random
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from morket.models import ColumnType
from morket.tables.dedupe import (
    Candidate,
    FuzzyRule,
    KeyRule,
    Normalization,
    group_duplicates,
    normalization_for,
    normalize,
    normalize_domain,
    normalize_email,
    normalize_phone,
    normalize_text,
)


def test_examples() -> None:
    assert normalize_text("  Acme   Inc.\t") == "acme inc."
    assert normalize_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalize_domain("https://www.Acme.co.uk/about?x=1") == "acme.co.uk"
    assert normalize_domain("blog.acme.com") == "acme.com"
    assert normalize_domain("ACME.COM") == "acme.com"
    assert normalize_domain("ada@mail.acme.com") == "acme.com"
    assert normalize_domain("http://localhost:8000") == "localhost"
    assert normalize_phone("+1 (555) 123-4567") == "15551234567"
    assert normalization_for(ColumnType.EMAIL, Normalization.AUTO) is Normalization.EMAIL
    assert normalization_for(ColumnType.URL, Normalization.AUTO) is Normalization.DOMAIN
    assert normalization_for(ColumnType.PHONE, Normalization.AUTO) is Normalization.PHONE
    assert normalization_for(ColumnType.TEXT, Normalization.AUTO) is Normalization.TEXT
    assert normalization_for(ColumnType.TEXT, Normalization.DOMAIN) is Normalization.DOMAIN


def test_suffix_list_is_the_bundled_snapshot() -> None:
    # A private-registry-free, offline snapshot still knows multi-part public suffixes.
    assert normalize_domain("shop.example.com.au") == "example.com.au"


HOW = st.sampled_from([Normalization.TEXT, Normalization.EMAIL, Normalization.DOMAIN, Normalization.PHONE])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@given(TEXT, HOW)
def test_normalization_is_idempotent(value: str, how: Normalization) -> None:
    once = normalize(value, how)
    assert normalize(once, how) == once


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=30))
def test_text_ignores_case_and_spacing(value: str) -> None:
    assert normalize_text(value) == normalize_text("  " + value.upper().replace(" ", "  ") + " ")


@given(st.lists(st.integers(0, 9), min_size=7, max_size=12))
def test_phone_formatting_does_not_matter(digits: list[int]) -> None:
    plain = "".join(map(str, digits))
    formatted = f"+{plain[:1]} ({plain[1:4]}) {plain[4:7]}-{plain[7:]}"
    assert normalize_phone(formatted) == normalize_phone(plain) == plain


@given(st.sampled_from(["acme", "beta-co", "x1"]), st.sampled_from(["com", "co.uk", "io", "com.au"]), st.booleans())
def test_domain_forms_agree(name: str, suffix: str, secure: bool) -> None:
    host = f"{name}.{suffix}"
    scheme = "https" if secure else "http"
    forms = [host, host.upper(), f"www.{host}", f"{scheme}://www.{host}/path?q=1", f"ops@{host}"]
    assert {normalize_domain(f) for f in forms} == {host}


ROWS = st.lists(
    st.tuples(st.sampled_from(["a@x.com", "A@X.com ", "b@x.com", "", "c@y.io"]), st.sampled_from(["1", "2", ""])),
    max_size=40,
)


@given(ROWS, st.randoms())
def test_exact_groups_are_a_partition_by_normalized_key(rows: list[tuple[str, str]], rnd: random.Random) -> None:
    candidates = [Candidate(i + 1, list(values)) for i, values in enumerate(rows)]
    keys = [KeyRule(0, Normalization.EMAIL), KeyRule(1, Normalization.EXACT)]
    groups = group_duplicates(candidates, keys)
    # The plain-Python model: rows with the same non-blank normalized key tuple, two or more.
    model: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in candidates:
        key = (normalize_email(c.values[0]), c.values[1].strip())
        if all(key):
            model[key].append(c.id)
    expected = sorted(sorted(ids) for ids in model.values() if len(ids) >= 2)
    assert groups == expected
    # Order of the input does not matter.
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert group_duplicates(shuffled, keys) == groups
    # Each group lists its oldest row first; no row is in two groups.
    assert all(g == sorted(g) for g in groups)
    seen = [i for g in groups for i in g]
    assert len(seen) == len(set(seen))


def test_fuzzy_names_within_the_same_domain() -> None:
    rows = [
        Candidate(1, ["acme.com", "Acme Inc"]),
        Candidate(2, ["https://www.acme.com", "ACME Inc."]),
        Candidate(3, ["acme.com", "Totally Different"]),
        Candidate(4, ["beta.io", "Acme Inc"]),
        Candidate(5, ["www.acme.com", "Inc Acme"]),
    ]
    groups = group_duplicates(rows, [KeyRule(0, Normalization.DOMAIN)], FuzzyRule(1, 85))
    assert groups == [[1, 2, 5]]
    assert group_duplicates(rows, [KeyRule(0, Normalization.DOMAIN)]) == [[1, 2, 3, 5]]


def test_fuzzy_only_blocks_on_first_letters_and_chains() -> None:
    rows = [
        Candidate(10, ["Jonathan Smith"]),
        Candidate(11, ["Jonathan Smyth"]),
        Candidate(12, ["Jonathon Smyth"]),
        Candidate(13, ["Mary Jones"]),
        Candidate(14, [""]),
    ]
    assert group_duplicates(rows, [], FuzzyRule(0, 90)) == [[10, 11, 12]]
