"""The HTTP path: one aiohttp session whose resolver refuses private addresses, redirects
followed by hand (each one checked), a size cap, and no downloads."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from morket_scraper.safety import AddressPolicy, TargetRefused, check_url, parse_host_ip, split_target

MAX_REDIRECTS = 10
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml", "application/ld+json")


class FetchError(Exception):
    """The page could not be fetched; `code` is stable (timeout, too_large, not_html, network_error...)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


@dataclass
class Page:
    url: str  # the one asked for
    final_url: str
    status: int
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    redirects: list[str] = field(default_factory=list)


class CheckedResolver(AbstractResolver):
    """Resolves like the system and returns only addresses the policy allows: we connect to what we checked."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self.policy.resolve(host, port)
        except TargetRefused as exc:
            # aiohttp wraps OSError into ClientConnectorError; the message survives for the task's error.
            raise OSError(f"refused: {exc}") from exc
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


def must_precheck(url: str, proxy: str | None) -> bool:
    """Whether a URL must be checked before the request: through a proxy (the proxy resolves),
    or when its host is an IP literal (aiohttp connects to those without asking the resolver).
    Any other host is checked by the session's CheckedResolver, on the address it connects to."""
    if proxy is not None:
        return True
    host = urlsplit(url).hostname or ""
    return parse_host_ip(host) is not None


def make_session(policy: AddressPolicy, *, limit: int = 200, timeout: float = 15.0) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=16, resolver=CheckedResolver(policy), ttl_dns_cache=0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0)),
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return not kind or kind in _TEXT_TYPES or kind.startswith("text/")


async def fetch_page(
    session: aiohttp.ClientSession,
    url: str,
    policy: AddressPolicy,
    *,
    headers: dict[str, str],
    max_bytes: int,
    proxy: str | None = None,
    accept_any_status: bool = False,
) -> Page:
    """GET a page. Every hop (the first URL and each redirect) is checked before it is requested."""
    current = url
    redirects: list[str] = []
    for _ in range(MAX_REDIRECTS + 1):
        # The connector's resolver checks direct connections to names; literals and proxies are checked here.
        if must_precheck(current, proxy):
            await check_url(current, policy)
        else:
            split_target(current)  # only http(s), no credentials
        try:
            async with session.get(current, headers=headers, allow_redirects=False, proxy=proxy) as response:
                if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    redirects.append(current)
                    continue
                if not accept_any_status and response.status >= 400:
                    raise FetchError(
                        "http_status",
                        f"the site answered {response.status}",
                        status=response.status,
                        retryable=response.status >= 500 or response.status == 429,
                    )
                content_type = response.headers.get("content-type", "")
                disposition = response.headers.get("content-disposition", "").lower()
                if not is_text(content_type) or disposition.startswith("attachment"):
                    raise FetchError(
                        "not_html",
                        f"not a page ({content_type or 'attachment'}); downloads are never fetched",
                        retryable=False,
                    )
                declared = response.content_length
                if declared is not None and declared > max_bytes:
                    raise FetchError("too_large", f"the page is {declared} bytes (limit {max_bytes})", retryable=False)
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchError("too_large", f"the page is over {max_bytes} bytes", retryable=False)
                charset = response.charset or "utf-8"
                return Page(
                    url=url,
                    final_url=current,
                    status=response.status,
                    html=body.decode(charset, errors="replace"),
                    headers={k.lower(): v for k, v in response.headers.items()},
                    redirects=redirects,
                )
        except TargetRefused:
            raise
        except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError) as exc:
            raise FetchError("proxy_error", f"proxy failed: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            cause: Any = exc.os_error
            if isinstance(cause, OSError) and str(cause).startswith("refused: "):
                raise TargetRefused(str(cause)[len("refused: ") :]) from None
            raise FetchError("network_error", f"could not connect: {exc}") from None
        except TimeoutError:
            raise FetchError("timeout", "the site did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise FetchError("network_error", f"{type(exc).__name__}: {exc}") from None
    raise FetchError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects", retryable=False)


@dataclass
class RawResponse:
    """One answer fetched for the browser: the final hop's status, headers and body."""

    url: str
    final_url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


_HOP_BY_HOP = {"host", "connection", "keep-alive", "content-length", "transfer-encoding", "accept-encoding", "upgrade"}


async def fetch_raw(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    policy: AddressPolicy,
    *,
    headers: dict[str, str],
    data: bytes | None,
    max_bytes: int,
    proxy: str | None = None,
    timeout: float | None = None,
) -> RawResponse:
    """A request the browser made, done by us: every hop checked, and the connection goes to the
    address the session's CheckedResolver just checked (Chromium itself resolves nothing)."""
    current = url
    sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and not k.startswith(":")}
    client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
    for _ in range(MAX_REDIRECTS + 1):
        if must_precheck(current, proxy):
            await check_url(current, policy)
        try:
            async with session.request(
                method,
                current,
                headers=sent,
                data=data,
                allow_redirects=False,
                proxy=proxy,
                timeout=client_timeout,
            ) as response:
                location = response.headers.get("location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    current = urljoin(current, location)
                    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                        method, data = "GET", None
                    continue
                declared = response.content_length
                if declared is not None and declared > max_bytes:
                    raise FetchError("too_large", f"the page is {declared} bytes (limit {max_bytes})", retryable=False)
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchError("too_large", f"the page is over {max_bytes} bytes", retryable=False)
                return RawResponse(
                    url=url,
                    final_url=current,
                    status=response.status,
                    # The body is decompressed already: its encoding header would mislead the browser.
                    headers=[
                        (k, v)
                        for k, v in response.headers.items()
                        if k.lower() not in _HOP_BY_HOP and k.lower() != "content-encoding"
                    ],
                    body=bytes(body),
                )
        except TargetRefused:
            raise
        except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError) as exc:
            raise FetchError("proxy_error", f"proxy failed: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            cause: Any = exc.os_error
            if isinstance(cause, OSError) and str(cause).startswith("refused: "):
                raise TargetRefused(str(cause)[len("refused: ") :]) from None
            raise FetchError("network_error", f"could not connect: {exc}") from None
        except TimeoutError:
            raise FetchError("timeout", "the site did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise FetchError("network_error", f"{type(exc).__name__}: {exc}") from None
    raise FetchError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects", retryable=False)
