"""A webhook receiver on a real socket: answers 500 for the first `failures` calls, then 200."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from morket.devstack.ports import free_port
from tests.local_server import LocalServer

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
class Receiver(LocalServer):
    failures: int = 0
    # When set, every call is answered with a 302 to this URL (which must not be followed).
    redirect_to: str | None = None
    calls: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        async def hook(request: Request) -> JSONResponse:
            status = 500 if len(self.calls) < self.failures else 200
            if self.redirect_to is not None:
                status = 302
            self.calls.append(Received(await request.body(), dict(request.headers), status))
            headers = {"location": self.redirect_to} if self.redirect_to is not None else None
            return JSONResponse({"ok": status == 200}, status_code=status, headers=headers)

        self.serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), next(_next_port))

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"
