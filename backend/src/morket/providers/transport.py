"""An httpx transport that does its I/O with aiohttp.

The adapters speak httpx (requests, responses, exceptions), which keeps them simple to write
and to test. Underneath, httpx's own stack (httpcore + h11 + anyio, pure Python) costs most of the
worker's CPU at a thousand calls per second; aiohttp's connector and C HTTP parser do the same
work for a fraction of it. Responses are handed back undecoded, so httpx still handles
content encodings, and aiohttp errors become the httpx errors the adapters already map.
"""

from __future__ import annotations

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 100, keepalive_expiry: float = 30.0) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self._keepalive_expiry, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body = await request.aread()
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as response:
                content = await response.read()
                return httpx.Response(
                    response.status,
                    headers=list(response.raw_headers),
                    content=content,
                    request=request,
                )
        except TimeoutError as exc:
            raise httpx.ReadTimeout("the provider did not answer in time", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def provider_http_client(timeout_seconds: float, *, max_connections: int) -> httpx.AsyncClient:
    """The client every adapter call goes through: httpx's API over the aiohttp transport."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds),
        headers={"user-agent": "morket-provider-gateway/1"},
        transport=AiohttpTransport(max_connections=max_connections),
    )
