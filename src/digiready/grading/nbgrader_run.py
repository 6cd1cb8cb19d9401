"""Run nbgrader's own converters in a given course root, with the project's configuration."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from digiready.grading.course_gradebook import configured_url

CONFIG_FILE = "nbgrader_config.py"


def put_environment_on_path() -> None:
    """nbgrader's Gradebook runs the `alembic` executable: put this environment's bin/ on PATH."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


put_environment_on_path()


def gradebook_url(root: Path) -> str:
    """The gradebook the course's `nbgrader_config.py` names (`DIGIREADY_DB_URL` or SQLite
    `gradebook.db` in the course root), so formgrader and digiready use the same one; SQLite
    writers wait up to 60 s for a lock."""
    return configured_url(root)


def course_config(config_file: Path, root: Path) -> Config:
    """The settings of `config_file`, pointed at `root` and the course's gradebook."""
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: nbgrader configuration not found")
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = gradebook_url(root)
    return config


class ErrorLog(logging.Handler):
    """Keeps the error messages nbgrader logs, which say why a conversion failed."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_converter(
    converter_class: Any,
    config: Config,
    assignment_id: str,
    student_id: str = ".",
    errors: ErrorLog | None = None,
) -> None:
    """Run one nbgrader converter (GenerateAssignment, Autograde, ...) for one assignment."""
    local = Config(config)
    local.CourseDirectory.assignment_id = assignment_id
    local.CourseDirectory.student_id = student_id
    coursedir = CourseDirectory(config=local)
    converter = converter_class(coursedir=coursedir, config=local)
    converter.log.setLevel(logging.ERROR)
    if errors is not None:
        converter.log.addHandler(errors)
    try:
        converter.start()
    finally:
        if errors is not None:
            converter.log.removeHandler(errors)
