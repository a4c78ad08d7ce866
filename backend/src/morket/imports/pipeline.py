"""From an uploaded file on disk to a preview, and to the stream of rows an import writes. No database."""

from __future__ import annotations

import codecs
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import IO

from morket.imports.inference import infer_type, looks_like_header
from morket.imports.reader import (
    SNIFF_BYTES,
    FileFormat,
    Header,
    ReadOptions,
    RejectedRow,
    ShapeCounts,
    SourceRow,
    detect_delimiter,
    detect_encoding,
    detect_format,
    is_blank,
    iter_csv,
    iter_xlsx,
    shape_rows,
    xlsx_sheet_names,
)
from morket.models import ColumnType

SAMPLE_ROWS = 20
# Rows whose values the type guess and the preview's problem list look at.
SCAN_ROWS = 1_000


class ProblemCode(enum.StrEnum):
    EMPTY_FILE = "empty_file"
    UNREADABLE_FILE = "unreadable_file"
    HEADER_RENAMED = "header_renamed"
    SHORT_ROWS = "short_rows"
    REJECTED_ROW = "rejected_row"
    ENCODING_GUESSED = "encoding_guessed"


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    message: str
    line: int | None = None


@dataclass(frozen=True)
class PreviewColumn:
    index: int
    name: str
    type: ColumnType


@dataclass
class Preview:
    options: ReadOptions
    sheets: list[str]
    columns: list[PreviewColumn]
    sample_rows: list[list[str]]
    scanned_rows: int
    problems: list[Problem] = field(default_factory=list)


class UnreadableFile(Exception):
    """The file cannot be read at all (not a spreadsheet, a broken zip, an unknown sheet)."""


@dataclass(frozen=True)
class Overrides:
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool | None = None
    sheet: str | None = None


def _records(path: str, options: ReadOptions) -> Iterator[SourceRow | RejectedRow]:
    if options.format is FileFormat.XLSX:
        yield from iter_xlsx(path, options)
        return
    with open(path, "rb") as handle:
        yield from iter_csv(handle, options)


def detect_options(path: str, filename: str, overrides: Overrides) -> tuple[ReadOptions, list[str]]:
    """Format, encoding, delimiter, header and sheet: detected, unless the caller says otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    file_format = detect_format(filename, head)
    sheets: list[str] = []
    if file_format is FileFormat.XLSX:
        try:
            sheets = xlsx_sheet_names(path)
        except Exception as exc:  # openpyxl raises many kinds for a broken zip or workbook
            raise UnreadableFile(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
        if overrides.sheet is not None and overrides.sheet not in sheets:
            raise UnreadableFile(f"the workbook has no sheet named '{overrides.sheet}'")
        options = ReadOptions(FileFormat.XLSX, sheet=overrides.sheet or (sheets[0] if sheets else None))
    else:
        encoding = overrides.encoding or detect_encoding(head)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UnreadableFile(f"unknown encoding '{encoding}'") from None
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=len(head) < SNIFF_BYTES)
        delimiter = overrides.delimiter or detect_delimiter(text.lstrip("\ufeff"))
        options = ReadOptions(FileFormat.CSV, encoding=encoding, delimiter=delimiter)
    if overrides.has_header is not None:
        return replace(options, has_header=overrides.has_header), sheets
    try:
        firsts = [r.values for r in islice(_records(path, options), 200) if isinstance(r, SourceRow)]
    except Exception as exc:
        raise UnreadableFile(f"the file cannot be read ({type(exc).__name__})") from exc
    firsts = [values for values in firsts if not is_blank(values)]
    has_header = looks_like_header(firsts[0], firsts[1:51]) if firsts else True
    return replace(options, has_header=has_header), sheets


def open_rows(path: str, options: ReadOptions, counts: ShapeCounts) -> tuple[Header, Iterator[SourceRow | RejectedRow]]:
    """The header and every later record fitted to it (see `shape_rows`)."""
    return shape_rows(_records(path, options), options.has_header, counts)


class FileRows:
    """An open file's header and rows, and how many of its bytes the reader has consumed."""

    def __init__(self, path: str, options: ReadOptions) -> None:
        self.counts = ShapeCounts()
        self._handle: IO[bytes] | None = None
        if options.format is FileFormat.CSV:
            self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
            records: Iterator[SourceRow | RejectedRow] = iter_csv(self._handle, options)
        else:
            records = iter_xlsx(path, options)
        self.header, self.rows = shape_rows(records, options.has_header, self.counts)

    def position(self) -> int | None:
        """Bytes consumed so far (CSV); None when the format does not tell (XLSX is unzipped)."""
        if self._handle is None or self._handle.closed:
            return None
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def build_preview(path: str, filename: str, overrides: Overrides) -> Preview:
    options, sheets = detect_options(path, filename, overrides)
    counts = ShapeCounts()
    problems: list[Problem] = []
    try:
        header, records = open_rows(path, options, counts)
        scanned = list(islice(records, SCAN_ROWS))
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"the file cannot be read ({type(exc).__name__})") from exc
    if options.format is FileFormat.CSV and options.encoding not in ("utf-8", "utf-8-sig"):
        problems.append(Problem(ProblemCode.ENCODING_GUESSED, f"the file is not UTF-8; read as {options.encoding}"))
    if not header.names:
        problems.append(Problem(ProblemCode.EMPTY_FILE, "the file has no rows"))
    problems.extend(Problem(ProblemCode.HEADER_RENAMED, note, 1) for note in header.notes)
    good = [r for r in scanned if isinstance(r, SourceRow)]
    for record in scanned:
        if isinstance(record, RejectedRow):
            problems.append(Problem(ProblemCode.REJECTED_ROW, f"{record.reason}: {record.message}", record.line))
    if counts.short_rows:
        lines = ", ".join(str(n) for n in counts.first_short_lines)
        problems.append(
            Problem(
                ProblemCode.SHORT_ROWS,
                f"{counts.short_rows} rows have fewer values than the header (lines {lines}); "
                "their missing cells are left empty",
            )
        )
    columns = [
        PreviewColumn(index, name, infer_type([r.values[index] for r in good]))
        for index, name in enumerate(header.names)
    ]
    return Preview(
        options=options,
        sheets=sheets,
        columns=columns,
        sample_rows=[r.values for r in good[:SAMPLE_ROWS]],
        scanned_rows=len(scanned),
        problems=problems,
    )
