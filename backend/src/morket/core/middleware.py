"""ASGI middleware: request id, access log, security headers, per-IP rate limit."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from morket.core.logging import request_id_var
from morket.core.ratelimit import ClientIpResolver, RateLimiter, retry_after_header

access_log = logging.getLogger("morket.access")
log = logging.getLogger("morket.errors")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-dns-prefetch-control", b"off"),
    (b"x-permitted-cross-domain-policies", b"none"),
]
# The API serves JSON only; the web UI (served under /) gets a policy that lets its scripts run.
API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
UI_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    b"frame-ancestors 'none'"
)
# Swagger UI's assets are served from the installation (core.docs), so nothing off-site is allowed.
DOCS_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    b"script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        ip_resolver: ClientIpResolver,
        general_limit: int,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.limiter = limiter
        self.ip_resolver = ip_resolver
        self.general_limit = general_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        peer = scope.get("client")
        client_ip = self.ip_resolver.resolve(peer[0] if peer else None, _header(scope, b"x-forwarded-for"))
        scope.setdefault("state", {})["client_ip"] = client_ip
        scope["state"]["request_id"] = request_id
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status_holder = {"status": 500, "started": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if path.startswith("/api/v1/docs") or path.startswith("/api/v1/redoc"):
                    csp = DOCS_CSP
                elif path.startswith("/api/"):
                    csp = API_CSP
                else:
                    csp = UI_CSP
                headers.append((b"content-security-policy", csp))
                if path.startswith("/api/v1/auth/"):
                    # Tokens and who-am-I answers must never sit in a browser or proxy cache.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            # Inbound URLs have a limit per table instead (docs/inbound.md): senders such as
            # Zapier post from a few shared addresses, far above one person's per-IP budget.
            if path.startswith("/api/") and path != "/api/v1/health" and not path.startswith(_INBOUND):
                decision = await self.limiter.hit(f"ip:{client_ip}", self.general_limit, 60.0)
                if not decision.allowed:
                    await _send_429(send_wrapper, retry_after_header(decision))
                    return
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # Rendered here rather than by Starlette's outermost handler, so even a 500 carries
            # the envelope, the request id and the security headers.
            if status_holder["started"]:
                raise
            log.exception("unhandled error", extra={"path": _loggable(path)})
            await _send_error(send_wrapper, 500, "internal_error", "An unexpected error occurred.")
        finally:
            if self.access_log:
                access_log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": _loggable(path),
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client_ip": client_ip,
                    },
                )
            request_id_var.reset(token)


_INBOUND = "/api/v1/inbound/"


def _loggable(path: str) -> str:
    """The path as logs may keep it: an inbound URL's token is its secret."""
    return _INBOUND + "<token>" if path.startswith(_INBOUND) else path


async def _send_429(send: Any, retry_after: str) -> None:
    await _send_error(
        send, 429, "rate_limited", "Too many requests; slow down.", [(b"retry-after", retry_after.encode())]
    )


async def _send_error(
    send: Any, status: int, code: str, message: str, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(
        {"success": False, "data": None, "error": {"code": code, "message": message, "details": None}, "meta": None}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})
