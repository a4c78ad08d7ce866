"""Running the sandbox: `serve()` in the foreground, `SandboxServer` in a background thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from morket_sandbox.app import create_sandbox_app
from morket_sandbox.config import DEFAULT_PORT, SandboxConfig


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def load_config(path: str | Path) -> SandboxConfig:
    """A SandboxConfig from a JSON file (the same shape as `SandboxConfig.model_dump()`)."""
    return SandboxConfig.model_validate(json.loads(Path(path).read_text()))


def _uvicorn_config(host: str, port: int, config: SandboxConfig | None, log_level: str) -> uvicorn.Config:
    # No access log: at thousands of requests per second it costs more than the emulation itself.
    return uvicorn.Config(
        create_sandbox_app(config), host=host, port=port, log_level=log_level, access_log=False, lifespan="off"
    )


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: SandboxConfig | None = None, log_level: str = "warning"
) -> None:
    """Run the sandbox until interrupted."""
    uvicorn.Server(_uvicorn_config(host, port, config, log_level)).run()


class SandboxServer:
    """The sandbox on a real socket in a daemon thread, for tests and local tools.

    with SandboxServer() as sandbox:
        httpx.get(f"{sandbox.url}/apollo/api/v1/...")
    """

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(_uvicorn_config(host, self.port, config, "warning"))
        self._thread = threading.Thread(target=self._server.run, name="morket-sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
