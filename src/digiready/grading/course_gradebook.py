"""The course's one gradebook: the `db_url` its nbgrader configuration gives, checked before use.

`nbgrader_config.py` sets `CourseDirectory.db_url` (SQLite `gradebook.db` in the course root,
or `DIGIREADY_DB_URL`, e.g. PostgreSQL). formgrader, `nbgrader` and every `digiready` command
read and write the gradebook that setting names, so they never silently use different ones.

Before a command reads the gradebook it is checked (`require_gradebook`): a missing SQLite file
or an empty database is "nothing graded yet" (and no empty gradebook is created), a file that is
not a database or fails SQLite's quick check is "corrupt", one another program holds locked is
"locked", and a database server that cannot be reached is named; each is a `GradebookProblem`
whose message is one line saying what to do.
"""

from __future__ import annotations

import os
import sqlite3
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from digiready.course.paths import CourseLayout

CONFIG_FILE = "nbgrader_config.py"
ENVIRONMENT = "DIGIREADY_DB_URL"
LOCK_WAIT_SECONDS = 60  # how long a writer waits for another's lock before giving up
CHECK_WAIT_SECONDS = 5.0  # how long a check waits for a lock before saying "locked"


class GradebookProblem(RuntimeError):
    """The gradebook is missing, corrupt or locked; the message says what to do, on one line."""


def _with_lock_wait(url: str) -> str:
    """A SQLite URL whose writers wait for a lock instead of failing at once."""
    if url.startswith("sqlite:") and "timeout=" not in url:
        return url + ("&" if "?" in url else "?") + f"timeout={LOCK_WAIT_SECONDS}"
    return url


@lru_cache(maxsize=32)
def _configured(config_file: Path, mtime: float, environment: str | None) -> str | None:
    """The db_url `config_file` sets (cached while the file and the environment stay the same)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    url = config.CourseDirectory.get("db_url") if "CourseDirectory" in config else None
    return str(url) if url else None


def configured_url(root: Path) -> str:
    """The gradebook URL the course's `nbgrader_config.py` gives (it honours DIGIREADY_DB_URL);
    SQLite in the course root when there is no configuration or it names no db_url."""
    config_file = root / CONFIG_FILE
    url = None
    if config_file.is_file():
        url = _configured(config_file, config_file.stat().st_mtime, os.environ.get(ENVIRONMENT))
    return _with_lock_wait(url or f"sqlite:///{CourseLayout(root).gradebook}")


def sqlite_file(url: str) -> Path | None:
    """The database file of a `sqlite:///...` URL; None for another database or in-memory."""
    if not url.startswith("sqlite:///"):
        return None
    path = unquote(url.removeprefix("sqlite:///").split("?", 1)[0])
    return Path(path) if path and path != ":memory:" else None


def health(database: Path, wait: float | None = None) -> str:
    """'' when `database` is a sound, unlocked SQLite file, else what is wrong (a phrase);
    waits up to `wait` seconds (default CHECK_WAIT_SECONDS) for another program's lock."""
    timeout = CHECK_WAIT_SECONDS if wait is None else wait
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=timeout) as connection:
            result = connection.execute("PRAGMA quick_check").fetchone()
        connection.close()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return "locked"
        return f"corrupt ({error})"
    except sqlite3.DatabaseError as error:
        return f"corrupt ({error})"
    if not result or result[0] != "ok":
        return f"corrupt (SQLite's check says: {result[0] if result else 'nothing'})"
    return ""


def describe(database: Path, problem: str) -> str:
    """One line for the lecturer about a gradebook that is locked or corrupt."""
    if problem == "locked":
        return (
            f"{database} is locked by another program (formgrader or another digiready?): "
            "close it, or wait for it to finish, and run the command again"
        )
    return (
        f"{database} is {problem}: nothing was read or changed; restore the latest copy from "
        f"{database.parent / 'gradebook-backups'}/ (copy it to {database.name}) and run again"
    )


def _server_tables(url: str) -> bool:
    """Whether the server database `url` holds nbgrader's tables; GradebookProblem, in one
    line, when it cannot be reached."""
    from sqlalchemy import create_engine, inspect  # not at import: the CLI starts without it
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("assignment")
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise GradebookProblem(
            f"the gradebook database {engine.url!r} cannot be used ({first}): check "
            f"{ENVIRONMENT} and that the database server is running"
        ) from error
    finally:
        engine.dispose()


def check_gradebook(root: Path) -> str:
    """The course's gradebook URL after checking that, if it is a SQLite file that exists, it is
    neither corrupt nor locked, and a server database can be reached (GradebookProblem
    otherwise). A missing file is fine here."""
    url = configured_url(root)
    database = sqlite_file(url)
    if database is None:
        _server_tables(url)
    elif database.exists():
        problem = health(database)
        if problem:
            raise GradebookProblem(describe(database, problem))
    return url


def require_gradebook(root: Path) -> str:
    """The course's gradebook URL for a command that reads grades: GradebookProblem when nothing
    has been graded yet (no gradebook is created), or it is corrupt or locked."""
    url = check_gradebook(root)
    database = sqlite_file(url)
    if database is None:
        from sqlalchemy import make_url

        if not _server_tables(url):
            raise GradebookProblem(
                f"no grades yet: the gradebook database {make_url(url)!r} is empty; import "
                "submissions and run `digiready grade MODULE` first"
            )
    elif not database.exists() or not _has_tables(database):
        raise GradebookProblem(
            f"no grades yet: {database} does not exist or is empty; import submissions and run "
            "`digiready grade MODULE` first"
        )
    return url


def _has_tables(database: Path) -> bool:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        found = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='assignment'"
        ).fetchone()
    connection.close()
    return found is not None
