"""A small ASGI app served on a real socket for a test: uvicorn on 127.0.0.1 in a thread, started
when the `with` block opens (it waits until the server listens), stopped when it closes. The
webhook receiver (tests/webhooks/receiver.py) and the HTTP columns' JSON API
(tests/columns/api_server.py) are both this with their own routes."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT = 10.0


class LocalServer:
    """A base for test servers: call `serve(app, port)` once (in `__post_init__`), then use the
    object as a context manager."""

    port: int

    def serve(self, app: ASGIApp, port: int) -> None:
        self.port = port
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            assert time.monotonic() < deadline, f"{type(self).__name__} did not start"
            time.sleep(0.01)  # uvicorn sets `started` from its own thread: nothing to await here
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
