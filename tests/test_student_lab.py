"""The student's JupyterLab configuration (issue 12, part 5); the browser test opens it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from digiready.student_lab import student_config, with_config_path


@pytest.mark.parametrize("exchange", [False, True])
def test_student_config_turns_off_instructor_tools_and_keeps_validate(
    tmp_path: Path, exchange: bool
) -> None:
    folder = student_config(tmp_path, exchange=exchange)
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    disabled = set(page["disabledExtensions"])
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:menu"} <= disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    assert ("@jupyter/nbgrader:assignment-list" in disabled) is not exchange
    off = server["ServerApp"]["jpserver_extensions"]
    assert off["nbgrader.server_extensions.formgrader"] is False
    assert "nbgrader.server_extensions.validate_assignment" not in off
    assert ("nbgrader.server_extensions.assignment_list" in off) is not exchange


def test_the_student_config_comes_first_on_the_config_path(tmp_path: Path) -> None:
    env = with_config_path(tmp_path, {"JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(tmp_path), "/elsewhere"]
