"""A webhook receiver on a real socket: answers 500 for the first `failures` calls, then 200."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from morket.devstack.ports import free_port

# Receivers listen on these ports, in turn: the test settings allow exactly these loopback ports
# (WEBHOOK_ALLOW_LOOPBACK), as a deployment would list its local receiver's.
RECEIVER_PORTS: tuple[int, ...] = tuple(free_port() for _ in range(3))
_next_port = itertools.cycle(RECEIVER_PORTS)


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    status: int


@dataclass
class Receiver:
    failures: int = 0
    # When set, every call is answered with a 302 to this URL (which must not be followed).
    redirect_to: str | None = None
    calls: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = next(_next_port)

        async def hook(request: Request) -> JSONResponse:
            status = 500 if len(self.calls) < self.failures else 200
            if self.redirect_to is not None:
                status = 302
            self.calls.append(Received(await request.body(), dict(request.headers), status))
            headers = {"location": self.redirect_to} if self.redirect_to is not None else None
            return JSONResponse({"ok": status == 200}, status_code=status, headers=headers)

        app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
