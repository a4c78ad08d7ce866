"""Export of a table or a view as CSV or XLSX, streamed batch by batch. Pure formatting, no I/O.

CSV injection: a text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is
written with a leading apostrophe, so a spreadsheet program shows it as text instead of running it
as a formula. Numbers, dates and booleans are written as values (a negative number is a number,
not a formula), so they are not escaped.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# XLSX holds at most this many rows per sheet, the header included.
XLSX_MAX_ROWS = 1_048_576


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Any) -> str:
    """A stored value as CSV text; text values escaped against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return escape_formula(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return escape_formula(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return escape_formula(str(value))


def csv_header(names: Sequence[str]) -> bytes:
    # A BOM so that Excel opens the UTF-8 file with the right encoding.
    return "\ufeff".encode() + _csv_lines([[escape_formula(n) for n in names]])


def csv_header_line(names: Sequence[str]) -> bytes:
    """The header of a COPY-written export: BOM, escaped names, LF as PostgreSQL ends its lines."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([escape_formula(n) for n in names])
    return "\ufeff".encode() + buffer.getvalue().encode()


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


def csv_batch(rows: Iterable[Sequence[Any]]) -> bytes:
    return _csv_lines([cell_text(v) for v in row] for row in rows)


async def csv_stream(names: Sequence[str], batches: AsyncIterator[list[Sequence[Any]]]) -> AsyncIterator[bytes]:
    yield csv_header(names)
    async for batch in batches:
        yield csv_batch(batch)


def xlsx_value(value: Any) -> Any:
    """A stored value as xlsxwriter writes it: numbers and booleans typed, the rest as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return cell_text(value)
