"""Request body limits, enforced before anything parses the body.

Two checks: a declared Content-Length above the limit is answered 413 at once, without reading;
the bytes actually received are counted as they arrive, so a chunked body (no Content-Length) or
one that lies about its length is cut off at the limit too. Nothing above the limit is buffered.

Routes may be given their own limit: `BodyLimits.set(prefix, method, bytes)`. The enrichment job
route raises it for its JSON records; the tables import path (streamed uploads) can do the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class BodyLimits:
    default: int
    # (method, path regex-free pattern) -> limit; the longest matching pattern wins.
    routes: list[tuple[str, str, int]] = field(default_factory=list)

    def set(self, path_pattern: str, method: str, limit: int) -> None:
        """`path_pattern` is the path with `*` standing for one path segment (an id)."""
        self.routes.append((method.upper(), path_pattern, limit))
        self.routes.sort(key=lambda route: len(route[1]), reverse=True)

    def limit_for(self, method: str, path: str) -> int:
        segments = path.rstrip("/").split("/")
        for route_method, pattern, limit in self.routes:
            if route_method != method:
                continue
            wanted = pattern.rstrip("/").split("/")
            if len(wanted) == len(segments) and all(w in ("*", s) for w, s in zip(wanted, segments, strict=True)):
                return limit
        return self.default


def _body_413(limit: int) -> bytes:
    return json.dumps(
        {
            "success": False,
            "data": None,
            "error": {
                "code": "payload_too_large",
                "message": f"The request body is larger than {limit} bytes.",
                "details": {"limit_bytes": limit},
            },
            "meta": None,
        }
    ).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if declared is None and not chunked:
            # HTTP/1.1 framing: without Content-Length or Transfer-Encoding a request has no body
            # (every GET), so there is nothing to count and no wrapper to pay for on each message.
            await self.app(scope, receive, send)
            return
        limit = self.limits.limit_for(scope.get("method", "GET"), scope.get("path", ""))
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        state = {"received": 0, "rejected": False, "started": False}

        async def limited_receive() -> Message:
            if state["rejected"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["rejected"] = True
                    if not state["started"]:
                        state["started"] = True
                        await _send_413(send, limit)
                    # The app sees a client that went away: it stops reading and its answer is dropped.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["rejected"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["rejected"]:
                raise


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None if absent; -1 if unreadable) and whether a Transfer-Encoding is set."""
    declared: int | None = None
    chunked = False
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = -1
        elif key == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def _send_413(send: Send, limit: int) -> None:
    body = _body_413(limit)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
