"""The checks a real provider runs before its endpoint: auth, quota, rate limits, injected faults.

This is ASGI middleware rather than a route dependency because it has to run for every path under
a provider's prefix (unknown ones included), before any body parsing, and has to see the final
status of every response for the stats.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from morket_sandbox.config import EffectiveFaults, Provider
from morket_sandbox.faults import Rejection, Verdict
from morket_sandbox.state import SandboxState, Usage

_GATEWAY_PAGE = "<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


class ProviderProfile(ABC):
    """How one provider reads its credentials and words its rejections."""

    provider: Provider
    prefixes: tuple[str, ...] = ()
    # Paths under a prefix served without a key (the CRMs' OAuth endpoints).
    open_paths: tuple[str, ...] = ()

    def authenticate(self, state: SandboxState, key: str | None) -> Response | None:
        """None admits the key; otherwise the provider's refusal. Key-based providers accept the
        configured keys; the CRMs override this to accept only the OAuth tokens they issued."""
        if key is None or key not in state.keys[self.provider]:
            return self.unauthorized(key)
        return None

    @abstractmethod
    def extract_key(self, request: Request) -> str | None: ...

    @abstractmethod
    def unauthorized(self, key: str | None) -> Response:
        """Missing (None) or unknown key."""

    @abstractmethod
    def rate_limited(self, path: str, per_second: float) -> Response:
        """The provider's answer when the per-key rate limit is exceeded."""

    @abstractmethod
    def too_many_requests(self, path: str) -> Response:
        """An HTTP 429 in the provider's own shape (the `rate_429` fault)."""

    @abstractmethod
    def quota_exhausted(self, path: str, quota: int) -> Response: ...

    @abstractmethod
    def internal_error(self) -> Response:
        """A 500 from the application itself, in the provider's error shape."""

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        return ()

    def server_error(self, status: int) -> Response:
        if status == 500:
            return self.internal_error()
        # 502/503 come from the load balancer in front of the API, so they are HTML whatever the API.
        reason = _REASONS.get(status, "Server Error")
        return HTMLResponse(_GATEWAY_PAGE.format(status=status, reason=reason), status_code=status)

    def reject(self, verdict: Verdict, path: str, faults: EffectiveFaults) -> Response:
        if verdict.rejection is Rejection.SERVER_ERROR:
            return self.server_error(verdict.status)
        if verdict.rejection is Rejection.QUOTA_EXHAUSTED:
            return self.quota_exhausted(path, faults.quota)
        if verdict.rejection is Rejection.RATE_LIMITED:
            response = self.rate_limited(path, faults.rate_limit_per_second)
        else:
            response = self.too_many_requests(path)
        response.headers["retry-after"] = str(verdict.retry_after)
        return response


class ProviderGate:
    def __init__(self, app: ASGIApp, state: SandboxState, profiles: Iterable[ProviderProfile]) -> None:
        self.app = app
        self.state = state
        self.profiles = {prefix: profile for profile in profiles for prefix in profile.prefixes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        slash = path.find("/", 1)
        profile = self.profiles.get(path if slash < 0 else path[:slash])
        if profile is None:
            await self.app(scope, receive, send)
            return

        state = self.state
        provider = profile.provider
        runtime = state.faults[provider]
        stats = state.stats
        extra_headers: list[tuple[bytes, bytes]] = []

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.record(provider, message["status"])
                if extra_headers:
                    message = {**message, "headers": [*message.get("headers", ()), *extra_headers]}
            await send(message)

        if path in profile.open_paths:
            await self.app(scope, receive, send_counted)
            return
        delay = runtime.delay_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        key = profile.extract_key(Request(scope))
        denied = profile.authenticate(state, key)
        if denied is not None:
            await denied(scope, receive, send_counted)
            return
        assert key is not None  # authenticate refuses a missing key
        usage = state.usage[provider].hit(key, time.time())
        extra_headers.extend((name.encode(), value.encode()) for name, value in profile.usage_headers(usage))
        verdict = runtime.admit(key, time.monotonic())
        if verdict is None:
            await self.app(scope, receive, send_counted)
            return
        rejection = profile.reject(verdict, path, runtime.faults)
        await rejection(scope, receive, send_counted)
