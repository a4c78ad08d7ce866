"""An httpx transport that does its I/O with aiohttp.

The adapters speak httpx (requests, responses, exceptions), which keeps them simple to write
and to test. Underneath, httpx's own stack (httpcore + h11 + anyio, pure Python) costs most of the
worker's CPU at a thousand calls per second; aiohttp's connector and C HTTP parser do the same
work for a fraction of it. Responses are handed back undecoded, so httpx still handles
content encodings, and aiohttp errors become the httpx errors the adapters already map.

`ProviderHttpClient` also shortens httpx's own client path for the adapters' plain calls (no
auth, cookies, redirects, hooks or streaming, which no provider call uses): the request is built
once and handed straight to the transport, skipping the client's auth, redirect and cookie
machinery (a third of the client's CPU per call at a thousand calls per second, bench/enrichment.py).
Provider calls never keep cookies: a cookie one workspace's key was given would otherwise ride
along with the next workspace's call on the shared client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


class ProviderHttpClient(httpx.AsyncClient):
    """httpx's client API with a short path for the adapters' calls (see the module doc)."""

    def __init__(self, *, timeout: httpx.Timeout, headers: Mapping[str, str], transport: AiohttpTransport) -> None:
        super().__init__(timeout=timeout, headers=headers, transport=transport)
        self._direct = transport
        self._timeouts = timeout.as_dict()

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        extensions: Any = None,
    ) -> httpx.Response:
        if data is not None or files is not None or cookies is not None or extensions is not None:
            return await super().request(
                method,
                url,
                content=content,
                data=data,
                files=files,
                json=json,
                params=params,
                headers=headers,
                cookies=cookies,
                auth=auth,
                follow_redirects=follow_redirects,
                timeout=timeout,
                extensions=extensions,
            )
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if auth is not httpx.USE_CLIENT_DEFAULT or follow_redirects not in (httpx.USE_CLIENT_DEFAULT, False):
            raise ValueError("provider calls use no auth flow and follow no redirects")
        merged = httpx.Headers(self.headers)
        if headers is not None:
            merged.update(headers)
        timeouts = self._timeouts if timeout is httpx.USE_CLIENT_DEFAULT else httpx.Timeout(timeout).as_dict()
        request = httpx.Request(
            method, url, params=params, headers=merged, content=content, json=json, extensions={"timeout": timeouts}
        )
        # The transport answers with the body read (and the request attached): nothing left to do.
        return await self._direct.handle_async_request(request)


def provider_http_client(timeout_seconds: float, *, max_connections: int) -> httpx.AsyncClient:
    """The client every adapter call goes through: httpx's API over the aiohttp transport."""
    return ProviderHttpClient(
        timeout=httpx.Timeout(timeout_seconds),
        headers={"user-agent": "morket-provider-gateway/1"},
        transport=AiohttpTransport(max_connections=max_connections),
    )
