"""A private PostgreSQL cluster from the system's binaries, for `make run` and `make test`.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to a system user
(`morket`, created on first use) and lives where that user can reach it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from morket.devstack.ports import port_open

PG_USER = "morket"


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for candidate in candidates:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    raise PostgresUnavailable(
        "PostgreSQL binaries (initdb, pg_ctl) were not found. Install them with "
        "'apt-get install -y postgresql' or set DATABASE_URL to an existing server."
    )


def _ensure_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(PG_USER)


def _reachable_by(path: Path, user: str) -> bool:
    result = subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path)], capture_output=True)
    return result.returncode == 0


@dataclass
class PrivatePostgres:
    """One cluster in `base_dir`, listening on 127.0.0.1:`port`."""

    base_dir: Path
    port: int
    # Tests trade durability for speed; `make run` keeps a developer's data safe.
    durable: bool = True
    # The superuser's password. With one, the cluster trusts nobody: every connection, over TCP
    # or the socket, proves the password (scram-sha-256), so other local users cannot get in.
    password: str | None = None

    def __post_init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"

    @property
    def url(self) -> str:
        auth = f"postgres:{quote(self.password, safe='')}" if self.password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", PG_USER, "--", *args] if self.as_root else list(args)

    def _prepare_dir(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not self.as_root:
            return
        user = _ensure_os_user()
        os.chown(self.base_dir, user.pw_uid, user.pw_gid)
        if not _reachable_by(self.base_dir, PG_USER):
            # The project sits in a directory the service user cannot enter (e.g. a private
            # temp dir): keep the cluster in /var/tmp instead, keyed by the project path.
            digest = hashlib.sha256(str(self.base_dir.resolve()).encode()).hexdigest()[:12]
            self.base_dir = Path("/var/tmp") / f"morket-pg-{digest}"  # noqa: S108 - owned by us, keyed by project
            self.data_dir = self.base_dir / "data"
            self.log_file = self.base_dir / "postgres.log"
            self.base_dir.mkdir(parents=True, exist_ok=True)
            os.chown(self.base_dir, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 60.0) -> str:
        if port_open("127.0.0.1", self.port):
            return self.url
        self._prepare_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base_dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ),
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"PostgreSQL did not start; see {self.log_file}")
            time.sleep(0.2)
        if self.password and self._hba_trusts():
            self._stop_trusting()
        return self.url

    def _initdb(self) -> None:
        auth = ["--auth=trust"]
        pwfile: Path | None = None
        if self.password:
            # Written 0600 from the start, read by initdb, removed at once.
            pwfile = self.base_dir / ".pwfile"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(self.password + "\n")
            if self.as_root:
                user = pwd.getpwnam(PG_USER)
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
        try:
            subprocess.run(
                self._cmd(
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    *auth,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ),
                check=True,
                capture_output=True,
            )
        finally:
            if pwfile is not None:
                pwfile.unlink(missing_ok=True)

    def _hba_trusts(self) -> bool:
        hba = self.data_dir / "pg_hba.conf"
        return any(
            line.split() and not line.lstrip().startswith("#") and line.split()[-1] == "trust"
            for line in hba.read_text().splitlines()
        )

    def _stop_trusting(self) -> None:
        """A cluster made before passwords (trust for every local user): set the password, then
        require it. The ALTER runs while trust still lets us in."""
        subprocess.run(
            self._cmd(
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                f"pw={self.password}",
            ),
            # psql interpolates :'pw' (quoted safely) only in a script, not in -c.
            input=b"ALTER ROLE postgres PASSWORD :'pw';\n",
            check=True,
            capture_output=True,
        )
        hba = self.data_dir / "pg_hba.conf"
        lines = []
        for line in hba.read_text().splitlines():
            parts = line.split()
            if parts and not line.lstrip().startswith("#") and parts[-1] == "trust":
                line = line[: line.rstrip().rfind("trust")] + "scram-sha-256"
            lines.append(line)
        hba.write_text("\n".join(lines) + "\n")
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "reload"), check=True, capture_output=True
        )

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"),
                capture_output=True,
            )
