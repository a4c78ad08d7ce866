"""Rules for user text that is stored: what PostgreSQL and UTF-8 cannot hold is refused up front."""

from __future__ import annotations

import json
import math
from typing import Any


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored as text, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def json_problem(value: Any) -> str | None:
    """The first string or number in a JSON value that cannot be stored, or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "contains a number that is not finite"
    if isinstance(value, dict):
        for key, inner in value.items():
            if problem := (json_problem(key) if isinstance(key, str) else None) or json_problem(inner):
                return problem
    if isinstance(value, list):
        for inner in value:
            if problem := json_problem(inner):
                return problem
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is out of range")
    return value


def loads_strict(raw: bytes | str) -> Any:
    """json.loads without NaN/Infinity (Python accepts them; JSON and PostgreSQL do not)."""
    return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)


_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_WS = " \t\n\r"


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def loads_object_in_steps(raw: bytes, list_key: str, max_items: int) -> tuple[dict[str, Any], int]:
    """Parse a JSON object whose `list_key` holds a long array, one array item at a time.

    json.loads is one C call that holds the GIL for the whole document (0.5 s for 100,000
    records on a busy machine), so the event loop cannot run even when the parse is in a thread.
    Parsing item by item gives the interpreter a switch point after each one. Stops counting at
    `max_items + 1` items and returns (object, item count) without reading further then.
    Raises ValueError for anything json.loads would refuse (and NaN/Infinity).
    """
    text = raw.decode("utf-8")
    decode = _STRICT.raw_decode
    result: dict[str, Any] = {}
    count = 0
    i = _skip(text, 0)
    if text[i : i + 1] != "{":
        return loads_strict(raw), 0  # not an object: let the caller's validation say so
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        i += 1
    else:
        while True:
            key, i = decode(text, i)
            if not isinstance(key, str):
                raise ValueError("an object key must be a string")
            i = _skip(text, i)
            if text[i : i + 1] != ":":
                raise ValueError("expected ':' in the JSON object")
            i = _skip(text, i + 1)
            if key == list_key and text[i : i + 1] == "[":
                items: list[Any] = []
                count = 0
                i = _skip(text, i + 1)
                if text[i : i + 1] == "]":
                    i += 1
                else:
                    while True:
                        item, i = decode(text, i)
                        count += 1
                        if count > max_items:
                            return result, count  # over the limit: the rest need not be read
                        items.append(item)
                        i = _skip(text, i)
                        if text[i : i + 1] == ",":
                            i = _skip(text, i + 1)
                            continue
                        if text[i : i + 1] == "]":
                            i += 1
                            break
                        raise ValueError("expected ',' or ']' in the JSON array")
                result[key] = items
            else:
                result[key], i = decode(text, i)
            i = _skip(text, i)
            if text[i : i + 1] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i : i + 1] == "}":
                i += 1
                break
            raise ValueError("expected ',' or '}' in the JSON object")
    if _skip(text, i) != len(text):
        raise ValueError("extra data after the JSON object")
    return result, count
