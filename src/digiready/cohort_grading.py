"""`digiready grade`: autograde a cohort's submissions with nbgrader, in parallel worker processes.

Each worker process imports nbgrader once and runs nbgrader's own `Autograde` for one student at
a time, writing into the course's gradebook (SQLite writers wait for the lock), so scores are
nbgrader's. One failing submission is recorded with its reason and never stops the others. A
re-run skips submissions already graded whose files have not changed, unless forced.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import multiprocessing
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import Execute
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from digiready.fast_execute import ForkedExecute, KernelServer
from digiready.items import read_notebook
from digiready.nbgrader_run import (
    CONFIG_FILE,
    ErrorLog,
    course_config,
    gradebook_url,
    run_converter,
)

MARKER = ".digiready-graded.json"
Status = Literal["graded", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: Status
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    needs_manual_grade: bool = False


def submission_dir(root: Path, module: str, student: str) -> Path:
    return root / "submitted" / student / module


def autograded_dir(root: Path, module: str, student: str) -> Path:
    return root / "autograded" / student / module


def find_students(root: Path, module: str) -> list[str]:
    """Students with a `submitted/<student>/<module>/` folder, ids exactly as the folder names."""
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / module).is_dir())


def submission_digest(folder: Path) -> str:
    """A hash of every file in a submission folder (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_assignment(root: Path, module: str) -> None:
    """Make sure the gradebook knows the module (nbgrader autograde needs it), without touching
    the release folder: nbgrader's GenerateAssignment writes its release into a scratch folder."""
    with Gradebook(gradebook_url(root)) as gradebook:
        try:
            gradebook.find_assignment(module)
            return
        except MissingEntry:
            pass
    config = course_config(root / CONFIG_FILE, root)
    with tempfile.TemporaryDirectory(prefix="digiready-release-") as scratch:
        config.CourseDirectory.release_directory = scratch
        run_converter(GenerateAssignment, config, module)


def _read_marker(root: Path, module: str, student: str) -> dict[str, str]:
    marker = autograded_dir(root, module, student) / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _submission_totals(root: Path, module: str, student: str) -> tuple[float, float, bool] | None:
    """(score, max score, needs manual grade) of the module notebook, or None if not graded."""
    with Gradebook(gradebook_url(root)) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(module, module, student)
        except MissingEntry:
            return None
        return float(notebook.score), float(notebook.max_score), bool(notebook.needs_manual_grade)


def _failure_reason(errors: ErrorLog, error: Exception) -> str:
    """The most telling line of what nbgrader logged, else the exception itself."""
    for message in errors.messages:
        lines = [line for line in message.strip().splitlines() if line.strip()]
        if lines and lines[0].startswith("Traceback"):
            return lines[-1].strip()
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def submission_problem(root: Path, module: str, student: str) -> str | None:
    """Why a submission cannot be graded at all (missing or unreadable notebook), or None."""
    folder = submission_dir(root, module, student)
    notebook = folder / f"{module}.ipynb"
    if not notebook.is_file():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        listed = ", ".join(found) if found else "none"
        return f"no notebook named {module}.ipynb in the submission (notebooks found: {listed})"
    try:
        read_notebook(notebook)
    except ValueError as error:
        return str(error)
    return None


_WORKER_CONFIG: dict[tuple[str, bool], Config] = {}
_KERNEL_SERVER: list[KernelServer] = []


def _with_forked_kernels(config: Config) -> Config:
    """Swap nbgrader's Execute for ForkedExecute in the autograde pipeline (and start the
    worker's fork server once)."""
    if not _KERNEL_SERVER:
        server = KernelServer()
        _KERNEL_SERVER.append(server)
        atexit.register(server.close)
    configured = "autograde_preprocessors" in config.Autograde
    steps = (
        list(config.Autograde.autograde_preprocessors)
        if configured
        else list(Autograde.class_traits()["autograde_preprocessors"].default())
    )
    config.Autograde.autograde_preprocessors = [
        ForkedExecute if step in (Execute, "nbgrader.preprocessors.Execute") else step
        for step in steps
    ]
    return config


def _worker_config(root: Path, fork_kernels: bool) -> Config:
    key = (str(root), fork_kernels)
    if key not in _WORKER_CONFIG:
        config = course_config(root / CONFIG_FILE, root)
        _WORKER_CONFIG[key] = _with_forked_kernels(config) if fork_kernels else config
    return _WORKER_CONFIG[key]


def grade_one(
    root: Path, module: str, student: str, force: bool, fork_kernels: bool = True
) -> Outcome:
    """Autograde one submission (in a worker process); never raises for a bad submission."""
    folder = submission_dir(root, module, student)
    if not folder.is_dir():
        return Outcome(student, "failed", f"no submission folder {folder}")
    problem = submission_problem(root, module, student)
    if problem is not None:
        return Outcome(student, "failed", problem)
    digest = submission_digest(folder)
    if not force and _read_marker(root, module, student).get("digest") == digest:
        totals = _submission_totals(root, module, student)
        if totals is not None:
            return Outcome(student, "skipped", "already graded and unchanged", *totals)
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's ORM, not the student
    config = Config(_worker_config(root, fork_kernels))
    config.Autograde.force = True
    errors = ErrorLog()
    try:
        run_converter(Autograde, config, module, student, errors)
    except Exception as error:  # nbgrader raises many kinds; the reason is what matters
        return Outcome(student, "failed", _failure_reason(errors, error))
    totals = _submission_totals(root, module, student)
    if totals is None:
        return Outcome(student, "failed", "nbgrader recorded no grades for this submission")
    marker = autograded_dir(root, module, student) / MARKER
    marker.write_text(json.dumps({"digest": digest}), encoding="utf-8")
    return Outcome(student, "graded", "", *totals)


def grade_cohort(
    root: Path,
    module: str,
    students: list[str] | None = None,
    workers: int = 2,
    force: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
    fork_kernels: bool = True,
) -> list[Outcome]:
    """Grade every (or the named) student's submission of `module`; outcomes sorted by id.

    With `fork_kernels`, kernels are forked from a pre-imported server in each worker
    (`digiready.fast_execute`); without, nbgrader starts each kernel itself.
    """
    if not re.fullmatch(r"\d\d-[a-z0-9-]+", module):
        raise ValueError(f"{module!r} is not a module id like 09-online-safeguarding")
    chosen = students if students else find_students(root, module)
    ensure_assignment(root, module)
    outcomes = list(_run(root, module, chosen, max(1, workers), force, on_done, fork_kernels))
    return sorted(outcomes, key=lambda outcome: outcome.student)


def _run(
    root: Path,
    module: str,
    students: list[str],
    workers: int,
    force: bool,
    on_done: Callable[[Outcome], None] | None,
    fork_kernels: bool,
) -> Iterator[Outcome]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {
            pool.submit(grade_one, root, module, s, force, fork_kernels): s for s in students
        }
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # a worker died (e.g. killed): record, go on
                outcome = Outcome(futures[future], "failed", f"grading process failed: {error}")
            if on_done is not None:
                on_done(outcome)
            yield outcome
