"""One `digiready grade` at a time on a course, whichever database holds its gradebook.

With a SQLite gradebook the lock is `.digiready-grade.lock` in the course root, holding the
holder's process id, taken with `flock`. With a server database (PostgreSQL) it is a session
advisory lock (`pg_advisory_lock`) on a connection held for the run, which names the holder's
process id in its `application_name`; graders on other machines sharing the gradebook wait for
it too. Either way the lock goes when its holder ends, however it ends (a run that crashed or was
killed leaves no stale lock), and a second run waits for it, told which process it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from digiready.grading.course_gradebook import configured_url

LOCK_FILE = ".digiready-grade.lock"
APPLICATION = "digiready grade, process {pid}"
# Advisory locks belong to one database, which is one course's gradebook: one key is enough.
ADVISORY_KEY = zlib.crc32(b"digiready-grade") & 0x7FFFFFFF


def holder(path: Path) -> int | None:
    """The process id written in a lock file, or None."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def _file_lock(path: Path, on_wait: Callable[[int | None], None] | None) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(holder(path))
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextlib.contextmanager
def _advisory_lock(url: str, on_wait: Callable[[int | None], None] | None) -> Iterator[None]:
    key = {"k": ADVISORY_KEY}
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"application_name": APPLICATION.format(pid=os.getpid())},
    )
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), key)
            if not taken.scalar():
                if on_wait is not None:
                    on_wait(_advisory_holder(connection))
                connection.execute(text("SELECT pg_advisory_lock(:k)"), key)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), key)
    finally:
        engine.dispose()


def _advisory_holder(connection: Connection) -> int | None:
    """The process id in the application_name of the session holding the grading lock of this
    database (the gradebook)."""
    name = connection.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :k "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"k": ADVISORY_KEY},
    ).scalar()
    found = re.search(r"process (\d+)$", name or "")
    return int(found.group(1)) if found else None


def grading_lock(
    root: Path, on_wait: Callable[[int | None], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold the course's grading lock; if another run holds it, call `on_wait` with its process
    id and wait until it ends."""
    url = configured_url(root)
    if url.startswith("postgresql"):
        return _advisory_lock(url, on_wait)
    return _file_lock(root / LOCK_FILE, on_wait)
