"""The aiohttp transport under the adapters' httpx client: same requests, same answers, same errors."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from morket.providers.transport import provider_http_client


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/slow":
            threading.Event().wait(1.0)
        payload = json.dumps({"path": self.path, "body": body.decode(), "auth": self.headers.get("x-api-key")}).encode()
        compressed = gzip.compress(payload)
        self.send_response(207)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("x-rate-limit-minute", "600")
        self.send_header("content-length", str(len(compressed)))
        self.end_headers()
        # The client of /slow has given up by now, as the test wants.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(compressed)

    def do_GET(self) -> None:
        seen = {"path": self.path, "cookie": self.headers.get("cookie"), "agent": self.headers.get("user-agent")}
        payload = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "session=from-the-provider; Path=/")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_request_and_response_round_trip(echo_server: str) -> None:
    async with provider_http_client(5.0, max_connections=4) as client:
        response = await client.post(
            f"{echo_server}/people/match?x=1", json={"email": "a@b.co"}, headers={"x-api-key": "k"}
        )
    assert response.status_code == 207
    assert response.headers["x-rate-limit-minute"] == "600"
    # Content encodings are left to httpx, which decodes them as it would on its own stack.
    assert response.json() == {"path": "/people/match?x=1", "body": '{"email":"a@b.co"}', "auth": "k"}


async def test_read_timeout_is_an_httpx_timeout(echo_server: str) -> None:
    async with provider_http_client(0.2, max_connections=4) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.post(f"{echo_server}/slow", content=b"x")


async def test_refused_connection_is_an_httpx_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with provider_http_client(2.0, max_connections=4) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_client_headers_merge_and_no_cookie_rides_along(echo_server: str) -> None:
    """The short path keeps the client's headers and params, and never sends a provider's cookie back."""
    async with provider_http_client(5.0, max_connections=4) as client:
        first = await client.get(f"{echo_server}/one", params={"q": "a b"})
        second = await client.get(f"{echo_server}/two", headers={"user-agent": "override"})
    assert first.json() == {"path": "/one?q=a+b", "cookie": None, "agent": "morket-provider-gateway/1"}
    assert first.headers["set-cookie"].startswith("session=")
    # A cookie one workspace's call was given must not go out with the next call on the shared client.
    assert second.json() == {"path": "/two", "cookie": None, "agent": "override"}


async def test_a_request_timeout_overrides_the_client_timeout(echo_server: str) -> None:
    """The scraper adapter passes its own timeout per call."""
    async with provider_http_client(30.0, max_connections=4) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.post(f"{echo_server}/slow", content=b"x", timeout=0.2)


async def test_form_bodies_take_httpx_own_path(echo_server: str) -> None:
    async with provider_http_client(5.0, max_connections=4) as client:
        response = await client.post(f"{echo_server}/form", data={"a": "1"})
    assert response.json()["body"] == "a=1"
