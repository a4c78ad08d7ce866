"""A small JSON API on a real socket (tests/local_server.py) for HTTP column tests: it records every request (time,
path, headers, body) so tests can count requests per second and see what was sent."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from morket.devstack.ports import free_port
from tests.local_server import LocalServer

COMPANIES = {"acme.com": 100, "initech.io": 50, "hooli.xyz": 7}


@dataclass
class Seen:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ApiServer(LocalServer):
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        async def record(request: Request) -> Any:
            raw = await request.body()
            body = json.loads(raw) if raw else None
            self.seen.append(Seen(time.monotonic(), request.method, request.url.path, dict(request.headers), body))
            return body

        async def company(request: Request) -> Response:
            await record(request)
            domain = request.path_params["domain"]
            if domain == "fail.me":
                return JSONResponse({"error": "boom"}, status_code=500)
            if domain == "slow.me":
                await asyncio.sleep(3)  # longer than the column's timeout: the server is slow
            if domain == "text.me":
                return PlainTextResponse("not json")
            employees = COMPANIES.get(domain)
            return JSONResponse({"data": {} if employees is None else {"employees": employees, "domain": domain}})

        async def echo(request: Request) -> Response:
            body = await record(request)
            return JSONResponse({"received": body})

        routes = [Route("/companies/{domain}", company, methods=["GET"]), Route("/echo", echo, methods=["POST"])]
        self.serve(Starlette(routes=routes), self.port)

    @property
    def url(self) -> str:
        return self.base_url
