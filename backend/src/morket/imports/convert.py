"""Column-wise conversion of imported text to stored values: the import's hot path. Pure, no I/O.

`morket.tables.types.parse_value` is the one definition of what a value means. Calling it for each
of ten million cells costs ~2 µs a cell in dispatch and generality, so each column type has a fast
converter here that does the common case with a few C-level calls and raises on anything else; a
cell the fast converter refuses goes through `parse_value` itself, which either accepts it (the
same value it would always have given) or rejects it with its message. So a fast converter only
has to be right when it succeeds: it must return exactly what `parse_value` returns for that text.
The property tests (tests/imports/test_convert.py) check that over generated text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from morket.models import ColumnType
from morket.tables.types import _EMAIL, _PHONE, _URL, MAX_TEXT, InvalidValue, parse_value

_PHONE_PUNCTUATION = str.maketrans("", "", "+ ().-/x")
_NUMBER_LIMIT = Decimal(10) ** 30
_CHECKBOX = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "x", "checked", "on"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "unchecked", "off"), False),
}

Converter = Callable[[str], Any]


class _Refused(Exception):
    """The fast path does not take this text; `parse_value` decides."""


def _text(value: str) -> str:
    if len(value) > MAX_TEXT or "\x00" in value:
        raise _Refused
    return value


def _email(value: str) -> str:
    text = value.strip()
    if _EMAIL.match(text) is None or len(value) > MAX_TEXT or "\x00" in value:
        raise _Refused
    return text


def _url(value: str) -> str:
    text = value.strip()
    if _URL.match(text) is None or len(value) > MAX_TEXT or "\x00" in value:
        raise _Refused
    return text


def _phone(value: str) -> str:
    text = value.strip()
    if _PHONE.match(text) is None or len(text.translate(_PHONE_PUNCTUATION)) < 5 or len(value) > MAX_TEXT:
        raise _Refused
    return text


def _number(value: str) -> Decimal:
    # Decimal() takes plain numbers (and surrounding spaces); "1,500", "$3" and "5%" go the slow way.
    number = Decimal(value)
    if not number.is_finite() or abs(number) >= _NUMBER_LIMIT:
        raise _Refused
    return number


def _checkbox(value: str) -> bool:
    return _CHECKBOX[value.strip().lower()]


def _date(value: str) -> date:
    if len(value) != 10:
        raise _Refused
    return date.fromisoformat(value)


def _datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not 1 <= parsed.year <= 9999:
        raise _Refused
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_FAST: dict[ColumnType, Converter] = {
    ColumnType.TEXT: _text,
    ColumnType.LONG_TEXT: _text,
    ColumnType.SINGLE_SELECT: _text,
    ColumnType.EMAIL: _email,
    ColumnType.URL: _url,
    ColumnType.PHONE: _phone,
    ColumnType.NUMBER: _number,
    ColumnType.CURRENCY: _number,
    ColumnType.PERCENT: _number,
    ColumnType.CHECKBOX: _checkbox,
    ColumnType.DATE: _date,
    ColumnType.DATETIME: _datetime,
}


def fast_converter(column_type: ColumnType) -> Converter | None:
    return _FAST.get(column_type)


def convert_column(column_type: ColumnType, values: Sequence[str | None], errors: dict[int, str]) -> list[Any]:
    """The stored values of one column of a batch (None stays None, meaning a blank cell).

    A cell that does not convert becomes None and its message goes to `errors[index]` (the
    caller rejects that row); the fast converter runs first, `parse_value` decides the rest.
    """
    fast = _FAST.get(column_type)
    if fast is not None:
        with contextlib.suppress(Exception):  # any refusal of the fast path: redo the column cell by cell
            return [None if v is None else fast(v) for v in values]
    out: list[Any] = []
    for index, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        if fast is not None:
            with contextlib.suppress(Exception):  # the slow path below decides
                out.append(fast(value))
                continue
        try:
            out.append(parse_value(column_type, value))
        except InvalidValue as exc:
            errors.setdefault(index, str(exc))
            out.append(None)
    return out
