"""The streaming reader against messy files the tests write: the exact rows and rejects expected."""

from __future__ import annotations

import io

import pytest

from morket.imports.reader import (
    FileFormat,
    ReadOptions,
    RejectedRow,
    RejectReason,
    ShapeCounts,
    SourceRow,
    detect_delimiter,
    detect_encoding,
    iter_csv,
    shape_rows,
    unique_headers,
)


def read(data: bytes, **options: object) -> list[SourceRow | RejectedRow]:
    opts = ReadOptions(FileFormat.CSV, **options)  # type: ignore[arg-type]
    return list(iter_csv(io.BytesIO(data), opts))


def good(records: list[SourceRow | RejectedRow]) -> list[tuple[int, list[str]]]:
    return [(r.line, r.values) for r in records if isinstance(r, SourceRow)]


def rejected(records: list[SourceRow | RejectedRow]) -> list[tuple[int, RejectReason]]:
    return [(r.line, r.reason) for r in records if isinstance(r, RejectedRow)]


def test_quoted_newlines_and_mixed_line_endings_keep_line_numbers() -> None:
    data = b'name,notes\r\nAda,"line one\nline two"\nBob,plain\rCy,"a\r\nb"\r\nDee,last'
    records = read(data)
    assert good(records) == [
        (1, ["name", "notes"]),
        (2, ["Ada", "line one\nline two"]),
        (4, ["Bob", "plain"]),
        (5, ["Cy", "a\r\nb"]),
        (7, ["Dee", "last"]),
    ]
    assert rejected(records) == []


def test_malformed_rows_are_rejected_with_line_and_the_rest_is_read() -> None:
    data = b'a,b\n1,2\n"bad"x,3\n4,5\n6,"never closed\n7,8\n'
    records = read(data)
    assert good(records) == [(1, ["a", "b"]), (2, ["1", "2"]), (4, ["4", "5"])]
    assert rejected(records) == [(3, RejectReason.MALFORMED), (5, RejectReason.MALFORMED)]
    last = records[-1]
    assert isinstance(last, RejectedRow)
    assert "line 5 is never closed" in last.message
    assert last.raw.startswith('6,"never closed')


def test_windows_1252_is_detected_and_decoded() -> None:
    data = "name;city\nJosé;Zürich\nFrançois;Málaga — “quoted”\n".encode("cp1252")
    encoding = detect_encoding(data)
    assert encoding == "cp1252"
    assert detect_delimiter(data.decode(encoding)) == ";"
    assert good(read(data, encoding=encoding, delimiter=";")) == [
        (1, ["name", "city"]),
        (2, ["José", "Zürich"]),
        (3, ["François", "Málaga — “quoted”"]),
    ]


def test_latin_1_bytes_are_read_as_cp1252() -> None:
    data = "nom,ville\nRené,Besançon\nAnaïs,Orléans\n".encode("latin-1")
    encoding = detect_encoding(data)
    assert encoding in ("cp1252", "latin_1", "iso8859_15")
    assert good(read(data, encoding=encoding))[1:] == [(2, ["René", "Besançon"]), (3, ["Anaïs", "Orléans"])]


def test_utf8_bom_is_stripped_from_the_first_header() -> None:
    data = "\ufeffemail,name\nada@example.com,Ada\n".encode()
    encoding = detect_encoding(data)
    assert encoding == "utf-8-sig"
    assert good(read(data, encoding=encoding))[0] == (1, ["email", "name"])


def test_an_invalid_byte_rejects_its_row_only() -> None:
    data = b"name,city\nAda,London\nBad,\xff\xfe\nBob,Paris\n"
    records = read(data, encoding="utf-8")
    assert good(records) == [(1, ["name", "city"]), (2, ["Ada", "London"]), (4, ["Bob", "Paris"])]
    assert rejected(records) == [(3, RejectReason.UNDECODABLE)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a;b;c\n1,5;2;3\n4;5;6\n", ";"),
        ("a\tb\tc\n1\t2\t3\n4\t5\t6\n", "\t"),
        ("a|b|c\n1|2|3\n4|5|6\n", "|"),
        ('name,desc\n"x;y;z",1\n"p;q;r",2\n', ","),
        ("single\nvalue\nanother\n", ","),
    ],
)
def test_delimiter_detection(text: str, expected: str) -> None:
    assert detect_delimiter(text) == expected


def test_duplicate_and_blank_headers_are_renamed_and_noted() -> None:
    header = unique_headers(["Email", "", "email", "Name", "Email", "  "])
    assert header.names == ["Email", "Column 2", "email (2)", "Name", "Email (3)", "Column 6"]
    assert len(header.notes) == 4


def test_ragged_rows_short_padded_long_rejected_unless_blank() -> None:
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,\n9,10,11,12\n\n13,14,15\n"
    counts = ShapeCounts()
    header, records = shape_rows(iter(read(data)), True, counts)
    out = list(records)
    assert header.names == ["a", "b", "c"]
    assert good(out) == [
        (2, ["1", "2", "3"]),
        (3, ["4", "5", ""]),
        (4, ["6", "7", "8"]),
        (7, ["13", "14", "15"]),
    ]
    assert rejected(out) == [(5, RejectReason.TOO_MANY_VALUES)]
    assert counts.short_rows == 1
    assert counts.first_short_lines == [3]
    assert counts.blank_rows == 1


def test_without_header_the_first_row_is_data() -> None:
    counts = ShapeCounts()
    header, records = shape_rows(iter(read(b"1,2\n3,4\n")), False, counts)
    assert header.names == ["Column 1", "Column 2"]
    assert good(list(records)) == [(1, ["1", "2"]), (2, ["3", "4"])]


def test_nul_byte_rejects_its_row() -> None:
    records = read(b"a,b\n1,2\n3,\x004\n5,6\n")
    assert good(records)[-1] == (4, ["5", "6"])
    assert rejected(records) == [(3, RejectReason.UNDECODABLE)]
