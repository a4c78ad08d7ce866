"""Guessing a column's type from sample values, and whether the first row is a header.

A column gets the most specific type that every non-blank sample value parses as (through the
tables module's own `parse_value`, so a guess never promises what the commit cannot store);
anything else is text, or long text when a value spans lines or runs long.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from morket.models import ColumnType
from morket.tables.dedupe import suffix_extractor
from morket.tables.types import InvalidValue, parse_value

LONG_TEXT_CHARS = 255
_BOOLEAN_WORDS = {"true", "false", "yes", "no"}
_DOMAIN = re.compile(r"^(https?://)?(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,24}(:\d+)?([/?#]\S*)?$", re.IGNORECASE)
_CURRENCY = re.compile(r"^\s*-?\s*[$€£¥]\s*-?[\d,]+(\.\d+)?\s*$|^\s*-?[\d,]+(\.\d+)?\s*[$€£¥]\s*$")
_PERCENT = re.compile(r"^\s*-?[\d,]*\.?\d+\s*%\s*$")
_NUMBER = re.compile(r"^\s*-?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][-+]?\d+)?\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_PHONE_DIGITS = 7


def _parses(column_type: ColumnType, value: str) -> bool:
    try:
        parse_value(column_type, value)
    except InvalidValue:
        return False
    return True


def _is_checkbox(v: str) -> bool:
    return v.strip().lower() in _BOOLEAN_WORDS


def _is_percent(v: str) -> bool:
    return bool(_PERCENT.match(v)) and _parses(ColumnType.PERCENT, v)


def _is_currency(v: str) -> bool:
    return bool(_CURRENCY.match(v)) and _parses(ColumnType.CURRENCY, v)


def _is_number(v: str) -> bool:
    return bool(_NUMBER.match(v)) and any(ch.isdigit() for ch in v) and _parses(ColumnType.NUMBER, v)


def _is_date(v: str) -> bool:
    return bool(_ISO_DATE.match(v.strip())) and _parses(ColumnType.DATE, v)


def _is_datetime(v: str) -> bool:
    return bool(_ISO_DATETIME.match(v.strip())) and _parses(ColumnType.DATETIME, v)


def _is_email(v: str) -> bool:
    return _parses(ColumnType.EMAIL, v)


def _is_url(v: str) -> bool:
    text = v.strip()
    if not _DOMAIN.match(text) or not _parses(ColumnType.URL, text):
        return False
    # "J.Smith" has the shape of a host name; a URL ends in a real public suffix.
    return bool(suffix_extractor()(text).suffix)


def _is_phone(v: str) -> bool:
    text = v.strip()
    digits = sum(ch.isdigit() for ch in text)
    # Formatting (a +, a space, a dash, brackets) tells a phone number from an id or an amount.
    return digits >= _PHONE_DIGITS and not text.isdigit() and _parses(ColumnType.PHONE, text)


def _is_json(v: str) -> bool:
    text = v.strip()
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# Most specific first: a column of "12%" is percent, not text.
_CANDIDATES: list[tuple[ColumnType, Callable[[str], bool]]] = [
    (ColumnType.CHECKBOX, _is_checkbox),
    (ColumnType.PERCENT, _is_percent),
    (ColumnType.CURRENCY, _is_currency),
    (ColumnType.NUMBER, _is_number),
    (ColumnType.DATE, _is_date),
    (ColumnType.DATETIME, _is_datetime),
    (ColumnType.EMAIL, _is_email),
    (ColumnType.URL, _is_url),
    (ColumnType.PHONE, _is_phone),
    (ColumnType.JSON, _is_json),
]


def infer_type(values: Sequence[str]) -> ColumnType:
    """The most specific type all non-blank values parse as; text when there are none."""
    present = [v for v in values if v.strip()]
    if not present:
        return ColumnType.TEXT
    for column_type, accepts in _CANDIDATES:
        if all(accepts(v) for v in present):
            return column_type
    if any("\n" in v or len(v) > LONG_TEXT_CHARS for v in present):
        return ColumnType.LONG_TEXT
    return ColumnType.TEXT


def looks_like_header(first: Sequence[str], following: Sequence[Sequence[str]]) -> bool:
    """A first row is data, not a header, when one of its cells has the (non-text) type of its column."""
    if not any(v.strip() for v in first):
        return False
    if not following:
        return all(infer_type([v]) in (ColumnType.TEXT, ColumnType.LONG_TEXT) for v in first if v.strip())
    for index, value in enumerate(first):
        if not value.strip():
            continue
        column = [row[index] for row in following if index < len(row)]
        column_type = infer_type(column)
        if column_type not in (ColumnType.TEXT, ColumnType.LONG_TEXT) and infer_type([value]) == column_type:
            return False
    return True
