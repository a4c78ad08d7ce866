"""Request parsing shared by the emulated providers, which parse leniently the way real APIs do."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request


class InvalidBodyError(ValueError):
    """The body is not JSON, or not the JSON type the endpoint needs."""


async def read_json(request: Request) -> Any:
    """The decoded JSON body, or None when the body is empty."""
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvalidBodyError(str(exc)) from exc


async def read_json_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object; an empty body is an empty object."""
    payload = await read_json(request)
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidBodyError("the body must be a JSON object")
    return payload


async def query_and_body(request: Request) -> dict[str, Any]:
    """Query parameters overlaid with the JSON body, for APIs that accept either."""
    params: dict[str, Any] = dict(request.query_params)
    params.update(await read_json_object(request))
    return params


def text(value: Any) -> str:
    """A parameter as a trimmed string; "" for anything missing or not scalar."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def int_param(value: Any, default: int) -> int | None:
    """An integer parameter; None when present but not an integer."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
