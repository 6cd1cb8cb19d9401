"""Regenerate `assignments/` (student release) and `solutions/` (staff) from `course/`.

nbgrader does the work in a scratch course root, so the lecturer's gradebook is never touched;
the results are then normalised (no execution timings, stable widget ids, the source's kernel
metadata) so that building twice, or on a clean checkout, changes nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.converters import GenerateAssignment, GenerateSolution

from digiready.course.paths import RELEASE_DIR, SOLUTION_DIR, SOURCE_DIR, CourseLayout
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, run_converter

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def normalise(notebook: Any, source_metadata: dict[str, Any]) -> Any:
    """Remove run-to-run noise from a generated notebook, in place, and return it."""
    notebook.metadata = nbformat.from_dict(
        {key: value for key, value in source_metadata.items() if key != "widgets"}
    )
    widget_ids: dict[str, str] = {}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view and "model_id" in view:
                stable = widget_ids.setdefault(view["model_id"], f"widget-{len(widget_ids) + 1}")
                view["model_id"] = stable
    return notebook


def write_notebook(notebook: Any, path: Path) -> None:
    """Write with nbformat's stable layout and a final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")


def _drop_side_effects(built: Path, source: Path) -> None:
    """Remove files that running a solution wrote (e.g. a saved plan): they are not the module."""
    for path in sorted(built.rglob("*")):
        if (
            path.is_file()
            and path.suffix != ".ipynb"
            and not (source / path.relative_to(built)).exists()
        ):
            path.unlink()


def _normalise_folder(built: Path, source: Path) -> None:
    _drop_side_effects(built, source)
    for path in sorted(built.rglob("*.ipynb")):
        original = nbformat.read(source / path.relative_to(built), as_version=4)
        notebook = nbformat.read(path, as_version=4)
        write_notebook(normalise(notebook, dict(original.metadata)), path)


def build_into(layout: CourseLayout, modules: Iterable[str], out_root: Path) -> None:
    """Build the named modules into `out_root/assignments` and `out_root/solutions`."""
    with tempfile.TemporaryDirectory(prefix="digiready-build-") as scratch:
        work = Path(scratch)
        config = course_config(layout.root / CONFIG_FILE, work)
        for module in modules:
            source = layout.source / module
            if not source.is_dir():
                raise FileNotFoundError(f"{source}: no such module folder")
            shutil.copytree(source, work / SOURCE_DIR / module, ignore=_IGNORED)
            run_converter(GenerateAssignment, config, module)
            run_converter(GenerateSolution, config, module)
            for kind in (RELEASE_DIR, SOLUTION_DIR):
                built = work / kind / module
                _normalise_folder(built, source)
                target = out_root / kind / module
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(built, target)


_IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


def build(layout: CourseLayout, modules: Iterable[str]) -> None:
    """Regenerate the release and solution folders of `modules` in the course itself."""
    build_into(layout, modules, layout.root)
