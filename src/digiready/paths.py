"""Where the course's folders are: one place that knows the repository layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCE_DIR = "course"
RELEASE_DIR = "assignments"
SOLUTION_DIR = "solutions"
CURRICULUM_FILE = "curriculum.yml"


class CourseRootNotFound(FileNotFoundError):
    """Raised when no folder above the start holds `course/curriculum.yml`."""


@dataclass(frozen=True)
class CourseLayout:
    """The folders of one course root (the folder holding `nbgrader_config.py`)."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / SOURCE_DIR

    @property
    def release(self) -> Path:
        return self.root / RELEASE_DIR

    @property
    def solutions(self) -> Path:
        return self.root / SOLUTION_DIR

    @property
    def curriculum(self) -> Path:
        return self.source / CURRICULUM_FILE

    @property
    def data(self) -> Path:
        return self.root / "data"

    def module_notebook(self, kind_dir: Path, module_id: str) -> Path:
        """The notebook of `module_id` inside `kind_dir` (source, release or solutions)."""
        return kind_dir / module_id / f"{module_id}.ipynb"


def find_course_root(start: Path | None = None) -> CourseLayout:
    """Walk up from `start` (default: the working directory) to the course root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SOURCE_DIR / CURRICULUM_FILE).is_file():
            return CourseLayout(folder)
    raise CourseRootNotFound(
        f"{here}: no {SOURCE_DIR}/{CURRICULUM_FILE} here or above; run digiready in the course root"
    )
