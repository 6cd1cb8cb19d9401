"""A course on JupyterHub: the Jupyter configuration `deploy/jupyterhub_config.py` points at.

`write_hub_config(folder, exchange, course_id)` writes two Jupyter configuration folders:
`student/` (put first on students' JUPYTER_CONFIG_PATH: nbgrader's instructor tools off, the
Assignments tab and Validate on, Validate's messages plain) and `instructor/` (for the
formgrader service and the grader account). Both name the course and nbgrader's exchange folder,
which is made (world-writable with the sticky bit, as nbgrader's documentation says) when missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from digiready.student_lab import DEFAULT_EXCHANGE, nbgrader_config, student_settings

STUDENT = "student"
INSTRUCTOR = "instructor"
NBGRADER_JSON = "nbgrader_config.json"


def exchange_root(root: Path) -> Path:
    """The exchange folder nbgrader uses in course root `root` (its `nbgrader_config.py`, then
    Jupyter's configuration path, as `digiready hub-config` writes it)."""
    config = nbgrader_config(root)
    return Path(str(config.Exchange.root if "root" in config.Exchange else DEFAULT_EXCHANGE))


def course_settings(exchange: Path, course_id: str) -> dict[str, Any]:
    """nbgrader's settings for a course whose exchange is the folder `exchange`."""
    return {"CourseDirectory": {"course_id": course_id}, "Exchange": {"root": str(exchange)}}


def write_hub_config(folder: Path, exchange: Path, course_id: str) -> dict[str, Path]:
    """Write `folder`/student and `folder`/instructor; make `exchange` if missing."""
    course = course_settings(exchange, course_id)
    files: dict[str, dict[str, dict[str, Any]]] = {
        STUDENT: student_settings(exchange=True),
        INSTRUCTOR: {NBGRADER_JSON: {}},
    }
    written = {}
    for role, settings in files.items():
        settings[NBGRADER_JSON] = {**settings[NBGRADER_JSON], **course}
        for relative, content in settings.items():
            path = folder / role / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content, indent=2), encoding="utf-8")
        written[role] = folder / role
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    if not exchange.is_dir():
        exchange.mkdir(parents=True)
        exchange.chmod(0o1777)
    return written
