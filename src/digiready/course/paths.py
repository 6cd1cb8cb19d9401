"""Where the course's folders are: the one place that knows the course root's layout.

Every folder and file name of a course root (nbgrader's `submitted/`, `autograded/`, `feedback/`,
the gradebook, digiready's report and exports) is named here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCE_DIR = "course"
RELEASE_DIR = "assignments"
SOLUTION_DIR = "solutions"
CURRICULUM_FILE = "curriculum.yml"
DATA_DIR = "data"
SUBMITTED_DIR = "submitted"  # nbgrader's: submitted/<student>/<module>/
AUTOGRADED_DIR = "autograded"  # nbgrader's: autograded/<student>/<module>/
FEEDBACK_DIR = "feedback"  # nbgrader's: feedback/<student>/<module>/
GRADEBOOK_FILE = "gradebook.db"  # nbgrader's default SQLite gradebook
GRADEBOOK_BACKUPS_DIR = "gradebook-backups"  # beside the gradebook file
REPORT_DIR = "report"
EXPORTS_DIR = "exports"
EXTENSIONS_FILE = "extensions-granted.csv"  # the extensions granted (`digiready extensions`)


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
        return self.root / DATA_DIR

    @property
    def submitted(self) -> Path:
        return self.root / SUBMITTED_DIR

    @property
    def autograded(self) -> Path:
        return self.root / AUTOGRADED_DIR

    @property
    def feedback(self) -> Path:
        return self.root / FEEDBACK_DIR

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK_FILE

    @property
    def report(self) -> Path:
        return self.root / REPORT_DIR

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS_DIR

    @property
    def extensions(self) -> Path:
        return self.root / EXTENSIONS_FILE

    def submission(self, student: str, module_id: str) -> Path:
        """The folder nbgrader reads a student's submission of a module from."""
        return self.submitted / student / module_id

    def submitters(self, module_id: str) -> list[str]:
        """Students with a `submitted/<student>/<module>/` folder, ids exactly as the folder
        names, sorted."""
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / module_id).is_dir())

    def autograded_submission(self, student: str, module_id: str) -> Path:
        """The folder nbgrader writes a student's autograded module to."""
        return self.autograded / student / module_id

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
