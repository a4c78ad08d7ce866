"""The pure parts of HTTP columns: the JSON path subset and request rendering (no I/O)."""

from __future__ import annotations

import uuid

import pytest

from morket.columns.http import MISSING, WILDCARD, HttpConfig, PathError, RenderError, extract, parse_path, render

DOC = {"data": {"email": "a@x.io", "items": [{"email": "b@x.io"}, {"email": None}, {"email": "c@x.io"}]}, "k y": 1}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.data.email", "a@x.io"),
        ("$['data']['email']", "a@x.io"),
        ('$["k y"]', 1),
        ("$.data.items[0].email", "b@x.io"),
        ("$.data.items[-1].email", "c@x.io"),
        ("$.data.items[*].email", ["b@x.io", "c@x.io"]),  # a wildcard gives the list, empty values left out
        ("$.data.items[7].email", MISSING),
        ("$.data.nothing", MISSING),
        ("$.data.items[*].nothing", MISSING),
        ("$.data.email.deeper", MISSING),
    ],
)
def test_extract(path: str, expected: object) -> None:
    found = extract(DOC, parse_path(path))
    if expected is MISSING:
        assert found is MISSING
    else:
        assert found == expected


@pytest.mark.parametrize(("path", "offset"), [("data", 0), ("$.", 1), ("$.a..b", 3), ("$[x]", 1), ("$.a[1", 3)])
def test_bad_paths_point_at_the_position(path: str, offset: int) -> None:
    with pytest.raises(PathError) as caught:
        parse_path(path)
    assert caught.value.offset == offset


def test_wildcard_steps() -> None:
    assert parse_path("$.a[*].b.*") == ["a", WILDCARD, "b", WILDCARD]


def test_render_encodes_url_values_and_keeps_body_types() -> None:
    domain, seats = uuid.uuid4(), uuid.uuid4()
    config = HttpConfig.model_validate(
        {
            "method": "POST",
            "url": "https://api.example.com/q/{{Domain}}?n={{Seats}}",
            "headers": {"Authorization": "Bearer {{secret:key}}", "X-Domain": "{{Domain}}"},
            "body": {"d": "{{Domain}}", "n": "{{Seats}}", "t": "n={{Seats}}", "list": ["{{Seats}}", 2]},
        }
    )
    refs = {"Domain": domain, "Seats": seats}
    request = render(config, refs, {domain: "a b/../c", seats: 3}, {"key": "s3cret"})
    assert request.url == "https://api.example.com/q/a%20b%2F..%2Fc?n=3"
    assert request.headers == {"Authorization": "Bearer s3cret", "X-Domain": "a b/../c"}
    assert request.body == {"d": "a b/../c", "n": 3, "t": "n=3", "list": [3, 2]}
    with pytest.raises(RenderError):  # a secret deleted from the vault since the column was saved
        render(config, refs, {domain: "x", seats: 1}, {})
    with pytest.raises(RenderError):  # a cell value that would add a header line
        render(config, refs, {domain: "x\r\nEvil: 1", seats: 1}, {"key": "k"})
