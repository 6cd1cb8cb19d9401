"""One `digiready grade` at a time on a course.

The lock is `.digiready-grade.lock` in the course root, holding the holder's process id. It is
taken with `flock`, so the kernel releases it however its holder ends (a run that crashed or was
killed leaves no stale lock), and a second run waits for it, told which process it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_FILE = ".digiready-grade.lock"


def holder(path: Path) -> int | None:
    """The process id written in a lock file, or None."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def grading_lock(
    root: Path, on_wait: Callable[[int | None], None] | None = None
) -> Iterator[None]:
    """Hold the course's grading lock; if another run holds it, call `on_wait` with its process
    id and wait until it ends."""
    path = root / LOCK_FILE
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
