"""Streaming readers for uploaded CSV and XLSX files: detection, then one record at a time.

Nothing here holds the whole file: CSV is decoded through an incremental text wrapper and parsed
record by record; XLSX goes through openpyxl's read-only mode (which needs a seekable file, so the
caller spools the upload to a temporary file on disk). Every record the reader cannot take comes
out as a `RejectedRow` with its line number and reason, never dropped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from charset_normalizer import from_bytes

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 256 * 1024
# The raw text kept of a rejected record, enough to find and fix it.
RAW_KEEP = 2_000
# A stray quote makes the parser read on until the next one; this bounds the field it builds.
MAX_FIELD_CHARS = 1_000_000


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class RejectReason(enum.StrEnum):
    MALFORMED = "malformed"
    UNDECODABLE = "undecodable"
    TOO_MANY_VALUES = "too_many_values"
    INVALID_VALUE = "invalid_value"
    DUPLICATE_KEY = "duplicate_key"


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__, and a million rows
# pay for it (the reader is on the import's hot path).
@dataclass(slots=True)
class SourceRow:
    line: int
    values: list[str]
    # The record as it was in the file (CSV; cut to RAW_KEEP), for the reject report.
    raw: str = ""
    # The row had fewer values than the header; the missing cells are blank.
    short: bool = False


@dataclass(slots=True)
class RejectedRow:
    line: int
    reason: RejectReason
    message: str
    raw: str


@dataclass(frozen=True)
class ReadOptions:
    """What the reader was told or detected; the preview shows it, the commit may override it."""

    format: FileFormat
    encoding: str = "utf-8"
    delimiter: str = ","
    has_header: bool = True
    sheet: str | None = None


@dataclass
class Header:
    names: list[str]
    # Human-readable notes on renamed headers (blank, duplicate).
    notes: list[str] = field(default_factory=list)


def detect_format(filename: str, head: bytes) -> FileFormat:
    """XLSX is a zip file; everything else is read as delimited text."""
    if head.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm")):
        return FileFormat.XLSX
    return FileFormat.CSV


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else the best guess, else cp1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample[:65536]).best()
    guess = best.encoding if best is not None else "cp1252"
    # A short Western sample looks as much like Central European or Turkish as like Windows-1252,
    # and Windows-1252 (a superset of Latin-1's letters) is what spreadsheet programs write on
    # Western systems; a guess of another script (Cyrillic, Japanese...) is kept.
    if guess in _LATIN_LOOKALIKES and _decodes(sample, "cp1252"):
        return "cp1252"
    return guess


_LATIN_LOOKALIKES = frozenset(
    {
        "ascii", "latin_1", "cp1250", "cp1252", "cp1254", "cp1257", "iso8859_2", "iso8859_9", "iso8859_10",
        "iso8859_13", "iso8859_15", "iso8859_16", "mac_roman", "mac_latin2", "cp437", "cp850", "cp858",
    }
)  # fmt: skip


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(text: str) -> str:
    """The candidate that splits the most sample records into the same number (> 1) of fields."""
    lines = text.splitlines(keepends=True)
    # The last line of a sample may be cut short.
    body = "".join(lines[:-1] if len(lines) > 1 else lines)
    best = (0.0, 0, -len(DELIMITERS))
    chosen = ","
    for rank, delim in enumerate(DELIMITERS):
        try:
            records = [r for r in csv.reader(io.StringIO(body, newline=""), delimiter=delim) if r]
        except csv.Error:
            continue
        records = records[:200]
        if not records:
            continue
        counts = Counter(len(r) for r in records)
        mode, hits = counts.most_common(1)[0]
        if mode < 2:
            continue
        score = (hits / len(records), mode, -rank)
        if score > best:
            best, chosen = score, delim
    return chosen


def unique_headers(raw: list[str]) -> Header:
    """Blank headers become `Column N`, duplicates get ` (2)`, ` (3)`...; each change is noted."""
    names: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw, start=1):
        name = " ".join(value.split())[:200]
        if not name:
            name = f"Column {index}"
            notes.append(f"column {index} has no header; named '{name}'")
        if name.casefold() in seen:
            base, n = name, 2
            while f"{base} ({n})".casefold() in seen:
                n += 1
            name = f"{base} ({n})"
            notes.append(f"column {index} repeats the header '{base}'; named '{name}'")
        seen.add(name.casefold())
        names.append(name)
    return Header(names, notes)


class _LineFeed:
    """Feeds decoded lines to csv.reader and remembers the ones of the current record."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.pending: list[str] = []
        self.pending_chars = 0

    def __iter__(self) -> Iterator[str]:
        pending = self.pending
        for line in self._text:
            # A record of many lines keeps the lines up to RAW_KEEP characters (and counts the rest).
            if len(pending) < 64:
                pending.append(line)
            else:
                self.pending_chars += len(line)
            yield line

    def take(self) -> tuple[str, bool]:
        """The record's text (cut to RAW_KEEP) and whether that is all of it."""
        pending = self.pending
        raw = pending[0] if len(pending) == 1 else "".join(pending)
        whole = self.pending_chars == 0 and len(raw) <= RAW_KEEP
        pending.clear()
        self.pending_chars = 0
        if whole:
            return raw.rstrip("\r\n"), True
        return raw[:RAW_KEEP].rstrip("\r\n"), False


def _undecodable(text: str) -> bool:
    return not text.isascii() and any("\udc80" <= ch <= "\udcff" for ch in text)


def iter_csv(binary: IO[bytes], options: ReadOptions) -> Iterator[SourceRow | RejectedRow]:
    """Every record of a delimited file with the line it starts on, good or rejected."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    # surrogateescape: a byte the encoding cannot decode rejects its record, not the whole file.
    text = io.TextIOWrapper(binary, encoding=options.encoding, errors="surrogateescape", newline="")
    feed = _LineFeed(text)
    reader = csv.reader(feed, delimiter=options.delimiter, strict=True)
    last_line = 0
    while True:
        start = last_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last_line = reader.line_num
            message = str(exc)
            if "end of data" in message:
                message = f"a quoted field opened on line {start} is never closed"
            yield RejectedRow(start, RejectReason.MALFORMED, message, _escape_raw(feed.take()[0]))
            continue
        last_line = reader.line_num
        raw, whole = feed.take()
        # One scan of the record's text when it is all there; the values when it was cut.
        text_all = raw if whole else "".join(values)
        if "\x00" in text_all:
            yield RejectedRow(start, RejectReason.UNDECODABLE, "contains a NUL byte (not text)", _escape_raw(raw))
            continue
        if _undecodable(text_all):
            yield RejectedRow(
                start, RejectReason.UNDECODABLE, f"bytes that are not valid {options.encoding}", _escape_raw(raw)
            )
            continue
        yield SourceRow(start, values, raw)


def _escape_raw(raw: str) -> str:
    return raw.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def xlsx_cell_text(value: Any) -> str:
    """A typed spreadsheet value as the text the type inference reads."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def xlsx_sheet_names(path: str) -> list[str]:
    from openpyxl import load_workbook

    # A file object, not the path: openpyxl refuses paths without an .xlsx extension (our temp files).
    with open(path, "rb") as handle:
        workbook = load_workbook(handle, read_only=True, data_only=True)
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()


def iter_xlsx(path: str, options: ReadOptions) -> Iterator[SourceRow | RejectedRow]:
    """Every row of one sheet (the first unless named) with its row number."""
    from openpyxl import load_workbook

    with open(path, "rb") as handle:
        workbook = load_workbook(handle, read_only=True, data_only=True)
        try:
            sheet = workbook[options.sheet] if options.sheet else workbook.worksheets[0]
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield SourceRow(number, [xlsx_cell_text(v) for v in row])
        finally:
            workbook.close()


def is_blank(values: list[str]) -> bool:
    return not "".join(values).strip()


@dataclass
class ShapeCounts:
    short_rows: int = 0
    blank_rows: int = 0
    first_short_lines: list[int] = field(default_factory=list)


def shape_rows(
    records: Iterator[SourceRow | RejectedRow], has_header: bool, counts: ShapeCounts
) -> tuple[Header, Iterator[SourceRow | RejectedRow]]:
    """Take the header off (first non-blank record) and fit every later record to its width.

    Short records are padded (and counted); long ones keep their extra values only when those are
    blank, else they are rejected: a value with no column would otherwise be lost.
    """
    header_row: SourceRow | None = None
    lead: list[SourceRow | RejectedRow] = []
    for record in records:
        if isinstance(record, RejectedRow):
            lead.append(record)
            continue
        if is_blank(record.values):
            counts.blank_rows += 1
            continue
        header_row = record
        break
    if header_row is None:
        return Header([]), iter(lead)
    if has_header:
        header = unique_headers(header_row.values)
        while header.names and header.names[-1].startswith("Column ") and not header_row.values[-1].strip():
            # Trailing empty header cells (a spreadsheet's stray formatting) are not columns.
            header_row.values.pop()
            header = unique_headers(header_row.values)
        first: list[SourceRow | RejectedRow] = []
    else:
        header = Header([f"Column {i}" for i in range(1, len(header_row.values) + 1)])
        first = [header_row]
    width = len(header.names)

    def fitted() -> Iterator[SourceRow | RejectedRow]:
        yield from lead
        for record in _chain(first, records):
            if isinstance(record, RejectedRow):
                yield record
                continue
            values = record.values
            if not "".join(values).strip():
                counts.blank_rows += 1
                continue
            size = len(values)
            if size == width:
                # The common case: the record fits as it is.
                yield record
                continue
            if size > width:
                extra = values[width:]
                if any(v.strip() for v in extra):
                    yield RejectedRow(
                        record.line,
                        RejectReason.TOO_MANY_VALUES,
                        f"{len(values)} values but the header has {width} columns",
                        record.raw or _join_raw(values),
                    )
                    continue
                values = values[:width]
            short = len(values) < width
            if short:
                counts.short_rows += 1
                if len(counts.first_short_lines) < 20:
                    counts.first_short_lines.append(record.line)
                values = values + [""] * (width - len(values))
            yield SourceRow(record.line, values, record.raw, short)

    return header, fitted()


def _chain(
    first: list[SourceRow | RejectedRow], rest: Iterator[SourceRow | RejectedRow]
) -> Iterator[SourceRow | RejectedRow]:
    yield from first
    yield from rest


def _join_raw(values: list[str]) -> str:
    return ",".join(values)[:RAW_KEEP]
