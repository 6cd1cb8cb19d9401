"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package.

`PostgresServer` runs `initdb` into a temporary data directory and starts `postgres` on a free
loopback port (and a Unix socket in the same folder), with trust authentication for local
connections only. PostgreSQL refuses to run as root, so under root (as in CI) the server runs as
the unprivileged `nobody`. The server is our own child process, stopped by its process id.
`fresh_database` gives each test a database of its own, as an SQLAlchemy URL (psycopg 3).

`postgres_missing` says why no server can be started here (with how to fix it), and
`need_postgres` skips with that advice, except under CI, where it fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

STARTUP_TIMEOUT_S = 60
SUPERUSER = "digiready"
SERVER_USER = "nobody"  # who runs the server when the tests run as root


def server_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `postgres`, if any."""
    found = [
        Path(path).parent
        for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if (Path(path).parent / "postgres").is_file()
    ]
    return max(found, key=lambda folder: int(folder.parent.name.split(".")[0]), default=None)


def postgres_missing() -> str | None:
    """Why no PostgreSQL server can be started here, with how to fix it; None when it can."""
    if server_binaries() is None:
        return (
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): run "
            "`make system-packages` or `sudo apt-get install postgresql`"
        )
    return None


def need_postgres() -> None:
    """Skip a test that needs a PostgreSQL server where there is none (saying how to install
    it), except under CI, where that fails it."""
    reason = postgres_missing()
    if reason and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is set: {reason}")
    if reason:
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server in `folder` (made here), listening on 127.0.0.1 only."""

    def __init__(self, folder: Path) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError(postgres_missing())
        self.folder = folder
        self.port = _free_port()
        data = folder / "data"
        folder.mkdir(parents=True, exist_ok=True)
        owner = pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid} if owner else {}
        environment = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, env=environment, cwd=folder, **run_as,  # type: ignore[arg-type]
        )
        self.log = folder / "server.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1",
                 "-p", str(self.port), "-k", str(folder), "-c", "fsync=off",
                 "-c", "max_connections=100"],
                stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=folder,
                start_new_session=True, **run_as,  # type: ignore[arg-type]
            )
        self._wait_ready()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of `database` on this server (psycopg 3)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text(errors='replace')}")
            try:
                psycopg.connect(self.url().replace("+psycopg", ""), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready: {self.log.read_text()}") from None
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """A new, empty database `name`; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown by process id (SIGINT), then SIGKILL if it lingers; folder removed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A running server in a temporary folder, stopped and removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="digiready-pg-"))
    parent.chmod(0o755)  # the server's user must reach its folder inside
    server = PostgresServer(parent / "server")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder.parent, ignore_errors=True)
