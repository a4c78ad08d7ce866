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
