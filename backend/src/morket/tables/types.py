"""Column types: the PostgreSQL type each one is stored as, and how a value is parsed and rendered.

Pure functions, no I/O: the API, the importer and the type change all parse through `parse_value`,
so a value means the same thing whichever way it arrives.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from morket.models import ColumnType

MAX_TEXT = 100_000
_NUMERIC = {ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT}
TEXT_LIKE = frozenset(
    {
        ColumnType.TEXT,
        ColumnType.LONG_TEXT,
        ColumnType.URL,
        ColumnType.EMAIL,
        ColumnType.PHONE,
        ColumnType.SINGLE_SELECT,
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^(https?://)?[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9 ().\-/x]+$")
_TRUE = {"true", "t", "yes", "y", "1", "x", "checked", "on"}
_FALSE = {"false", "f", "no", "n", "0", "", "unchecked", "off"}
_CURRENCY_NOISE = re.compile(r"[\s,$€£¥]")


class InvalidValue(ValueError):
    """A value the column's type cannot hold; the message says why."""


@dataclass(frozen=True)
class StorageType:
    sql: str  # the column definition's type in DDL
    try_cast: str | None  # tabledata.try_<name>(text) used by a type change, None for text
    sortable: bool


def storage_type(column_type: ColumnType) -> StorageType:
    if column_type in TEXT_LIKE:
        # "C" collation: byte order, the same as Python's str order, and usable by btree for prefixes.
        return StorageType('text COLLATE "C"', None, True)
    if column_type in _NUMERIC:
        return StorageType("numeric", "numeric", True)
    if column_type is ColumnType.CHECKBOX:
        return StorageType("boolean", "boolean", True)
    if column_type is ColumnType.DATE:
        return StorageType("date", "date", True)
    if column_type is ColumnType.DATETIME:
        return StorageType("timestamptz", "timestamptz", True)
    if column_type is ColumnType.MULTI_SELECT:
        return StorageType('text[] COLLATE "C"', None, False)
    return StorageType("jsonb", "jsonb", False)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise InvalidValue("expected text")
    if "\x00" in value:
        raise InvalidValue("text cannot contain a NUL character")
    if len(value) > MAX_TEXT:
        raise InvalidValue(f"text longer than {MAX_TEXT} characters")
    return value


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValue("expected a number")
    if isinstance(value, int):
        if abs(value) >= 10**30:
            raise InvalidValue("number out of range")
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 1e30:
            raise InvalidValue("number out of range")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidValue("number out of range")
        return value
    if isinstance(value, str):
        cleaned = _CURRENCY_NOISE.sub("", value).removesuffix("%")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidValue("not a number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 30:
            raise InvalidValue("number out of range")
        return number
    raise InvalidValue("expected a number")


def _checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidValue("expected true or false")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10]) if len(text) > 10 and text[10] in "T " else date.fromisoformat(text)
        except ValueError:
            raise InvalidValue("expected a date as YYYY-MM-DD") from None
    raise InvalidValue("expected a date as YYYY-MM-DD")


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidValue("expected an ISO 8601 date and time") from None
    else:
        raise InvalidValue("expected an ISO 8601 date and time")
    if not 1 <= parsed.year <= 9999:
        raise InvalidValue("date out of range")
    # A time without a zone is read as UTC, the zone everything is stored and shown in.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _multi(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        items = [_text(item).strip() for item in value]
    else:
        raise InvalidValue("expected a list of options")
    return [_text(item) for item in items if item]


def _json(value: Any) -> Any:
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidValue("not representable as JSON") from None
    if "\\u0000" in encoded:
        raise InvalidValue("JSON cannot contain a NUL character")
    if len(encoded) > MAX_TEXT:
        raise InvalidValue(f"JSON longer than {MAX_TEXT} characters")
    return value


def parse_value(column_type: ColumnType, value: Any) -> Any:
    """The value as it is stored, or None for an empty cell; raises InvalidValue."""
    if value is None:
        return None
    if column_type is ColumnType.JSON:
        return _json(value)
    if isinstance(value, str) and value.strip() == "" and column_type is not ColumnType.TEXT:
        return None
    if column_type in _NUMERIC:
        return _number(value)
    if column_type is ColumnType.CHECKBOX:
        return _checkbox(value)
    if column_type is ColumnType.DATE:
        return _date(value)
    if column_type is ColumnType.DATETIME:
        return _datetime(value)
    if column_type is ColumnType.MULTI_SELECT:
        items = _multi(value)
        return items or None
    text = _text(value)
    if column_type is ColumnType.EMAIL:
        text = text.strip()
        if not _EMAIL.match(text):
            raise InvalidValue("not an email address")
    elif column_type is ColumnType.URL:
        text = text.strip()
        if not _URL.match(text):
            raise InvalidValue("not a URL")
    elif column_type is ColumnType.PHONE:
        text = text.strip()
        if not _PHONE.match(text) or sum(ch.isdigit() for ch in text) < 5:
            raise InvalidValue("not a phone number")
    return text


def render_value(column_type: ColumnType, stored: Any) -> Any:
    """A stored value as JSON for the API."""
    if stored is None:
        return None
    if isinstance(stored, Decimal):
        if stored == stored.to_integral_value() and abs(stored) < 2**53:
            return int(stored)
        return float(stored)
    if isinstance(stored, (datetime, date)):
        return stored.isoformat()
    return stored
