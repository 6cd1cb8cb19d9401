"""JupyterLab as a student needs it: nbgrader's Validate, without the instructor's tools.

nbgrader installs, for everyone in the environment, the Nbgrader menu, Formgrader (with "Add new
assignment"), Course List and Create Assignment, and an Assignment List that asks for an exchange
("Error fetching courses!" where there is none). `student_config` writes a Jupyter configuration
folder that turns those off for one launch (JupyterLab's `disabledExtensions` page config and the
server's `jpserver_extensions`), keeping Validate, and the Assignment List only where nbgrader's
exchange folder exists; it also makes Validate's messages plain. `digiready lab` puts the folder
first on JUPYTER_CONFIG_PATH; authors (`--folder course`) keep every tool.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:menu",
)
ASSIGNMENT_LIST_PLUGIN = "@jupyter/nbgrader:assignment-list"
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
ASSIGNMENT_LIST_SERVER_EXTENSION = "nbgrader.server_extensions.assignment_list"
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"

# nbgrader's Validate (the button on a student's notebook) in plain words.
VALIDATOR_MESSAGES = {
    "type_changed_warning": (
        "{num_changed} cell(s) changed type, perhaps your written answer became a code cell.\n"
        "To put it back: click that cell, press Esc, then press M. Your words stay.\n"
        "Save (File > Save Notebook) and press Validate again. If it still says this,\n"
        "submit anyway: grading turns it back into text and keeps your words.\n"
    ),
    "changed_warning": (
        "{num_changed} check cell(s) were changed. Grading uses the original checks,\n"
        "so this does no harm, but your result here may differ from your mark.\n"
    ),
    "failed_warning": (
        "{num_failed} answer(s) are not ready yet. Read the message under each one below,\n"
        "fix that answer, run it and its check again, save, then press Validate again.\n"
    ),
}


def exchange_configured(config: Any | None = None) -> bool:
    """True when nbgrader's exchange folder (configured, or its default) exists here."""
    root = DEFAULT_EXCHANGE
    if config is not None and "Exchange" in config and "root" in config.Exchange:
        root = str(config.Exchange.root)
    return Path(root).is_dir()


def nbgrader_config(folder: Path | None = None) -> Any:
    """nbgrader's configuration as its server extensions read it in `folder` (default: here),
    then Jupyter's configuration path."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader

    app = NbGrader()
    app.config_file_paths.append([str(folder or os.getcwd()), *jupyter_config_path()])
    app.load_config_file()
    return app.config


def student_settings(exchange: bool) -> dict[str, dict[str, Any]]:
    """The JSON files of the student's configuration folder, by relative path."""
    plugins = [*INSTRUCTOR_PLUGINS, *([] if exchange else [ASSIGNMENT_LIST_PLUGIN])]
    servers = [*INSTRUCTOR_SERVER_EXTENSIONS,
               *([] if exchange else [ASSIGNMENT_LIST_SERVER_EXTENSION])]
    return {
        "labconfig/page_config.json": {"disabledExtensions": dict.fromkeys(plugins, True)},
        "jupyter_server_config.json": {
            "ServerApp": {"jpserver_extensions": dict.fromkeys(servers, False)}
        },
        "nbgrader_config.json": {"Validator": dict(VALIDATOR_MESSAGES)},
    }


def student_config(folder: Path, exchange: bool | None = None) -> Path:
    """Write the student's Jupyter configuration into `folder` (see the module docstring)."""
    if exchange is None:
        exchange = exchange_configured(nbgrader_config())
    for relative, content in student_settings(exchange).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    return folder


def with_config_path(folder: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with `folder` first on JUPYTER_CONFIG_PATH (it then outranks every other)."""
    env = dict(environ)
    rest = env.get("JUPYTER_CONFIG_PATH", "")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(folder), rest) if p)
    return env
