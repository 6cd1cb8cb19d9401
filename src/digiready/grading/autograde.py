"""Autograde submissions with nbgrader in a course root, one student at a time."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from nbgrader.converters import Autograde, GenerateAssignment

from digiready.course.paths import SOURCE_DIR, CourseLayout
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, run_converter


def prepare_course(layout: CourseLayout, modules: list[str], root: Path) -> None:
    """Make `root` a course root for `modules`: config, sources, and a gradebook that knows them."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(layout.root / CONFIG_FILE, root / CONFIG_FILE)
    config = course_config(root / CONFIG_FILE, root)
    for module in modules:
        target = root / SOURCE_DIR / module
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(layout.source / module, target)
        run_converter(GenerateAssignment, config, module)


def submit(root: Path, module: str, student: str, notebook: Path) -> Path:
    """Place a student's notebook where nbgrader looks: submitted/<student>/<module>/."""
    folder = CourseLayout(root).submission(student, module)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{module}.ipynb"
    shutil.copy(notebook, target)
    return target


def autograde(root: Path, module: str, students: list[str]) -> None:
    """Run nbgrader's Autograde for each student's submission of `module`."""
    config = course_config(root / CONFIG_FILE, root)
    for student in students:
        run_converter(Autograde, config, module, student)


def grade_notebooks(
    layout: CourseLayout, module: str, notebooks: Mapping[str, Path], root: Path
) -> None:
    """Set up `root`, submit each student's notebook and autograde them all."""
    prepare_course(layout, [module], root)
    for student, notebook in notebooks.items():
        submit(root, module, student, notebook)
    autograde(root, module, list(notebooks))
