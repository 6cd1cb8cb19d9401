"""`digiready grade`: autograde a cohort's submissions with nbgrader, in parallel worker processes.

Each worker process imports nbgrader once and runs nbgrader's own `Autograde` for one student at
a time, writing into the course's gradebook (SQLite writers wait for the lock), so scores are
nbgrader's. One failing submission is recorded with its reason and never stops the others. A
re-run skips submissions already graded whose files have not changed, unless forced.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import gc
import hashlib
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import Execute
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from digiready.course.items import read_notebook
from digiready.course.paths import CourseLayout
from digiready.grading import nbgrader_speed
from digiready.grading.deadlines import (
    apply_extension,
    assess_late_penalties,
    granted,
    timestamp_problem,
)
from digiready.grading.fast_execute import (
    NOT_RUN,
    ForkedExecute,
    GraderFailure,
    KernelServer,
    use_server,
)
from digiready.grading.gradebook_records import (
    backup_gradebook,
    flag_for_review,
    flag_reasons,
    record_auto_scores,
    record_ungradable,
    remove_submission,
)
from digiready.grading.item_rules import ItemRule, RuleError, item_rules
from digiready.grading.kernel_claims import CapClaimedScores
from digiready.grading.lock import grading_lock
from digiready.grading.nbgrader_run import (
    CONFIG_FILE,
    ErrorLog,
    course_config,
    gradebook_url,
    put_environment_on_path,
    run_converter,
)
from digiready.grading.safe_notebook import sanitised_notes
from digiready.grading.sandbox import Limits, Sandbox, require_sandbox
from digiready.grading.submission_checks import Inspection, inspect
from digiready.grading.trusted_marking import mark_notebook, marking_notes, master_tables
from digiready.grading.worker_pool import grader_warm_up, warming_pool, worker_count
from digiready.grading.written_answers import recovery_notes

MARKER = ".digiready-graded.json"
Status = Literal["graded", "skipped", "failed"]
KernelMode = Literal["sandboxed", "forked", "plain"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: Status
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    needs_manual_grade: bool = False
    flags: tuple[str, ...] = ()  # why the submission is flagged for review

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def submission_dir(root: Path, module: str, student: str) -> Path:
    return CourseLayout(root).submission(student, module)


def autograded_dir(root: Path, module: str, student: str) -> Path:
    return CourseLayout(root).autograded_submission(student, module)


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


_WORKER_CONFIG: dict[tuple[str, str], Config] = {}
_SERVER: list[KernelServer] = []


def _start_server(kernels: KernelMode, limits: Limits | None) -> None:
    """Start this worker's kernel fork server, sandboxed or not (once per worker)."""
    if _SERVER or kernels == "plain":
        return
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's ORM, not the student
    server = Sandbox(limits) if kernels == "sandboxed" else KernelServer()
    _SERVER.append(server)
    use_server(server)
    atexit.register(server.close)


def _evaluator() -> KernelServer:
    """The server that evaluates answer expressions: the worker's kernel server, or (when
    nbgrader starts kernels itself) one started for this alone."""
    if not _SERVER:
        _SERVER.append(KernelServer())
        atexit.register(_SERVER[0].close)
    return _SERVER[0]


_RULES: dict[Path, tuple[dict[str, ItemRule], dict[str, str]]] = {}


def module_rules(source: Path) -> tuple[dict[str, ItemRule], dict[str, str]]:
    """The items' rules and data tables of a master notebook (read once per process)."""
    if source not in _RULES:
        master = read_notebook(source)
        try:
            _RULES[source] = (item_rules(master), master_tables(master))
        except RuleError as error:
            raise RuleError(f"{source}: {error}") from error
    return _RULES[source]


def _decide_marks(root: Path, module: str, student: str, executed: Any) -> list[str]:
    """Mark the executed notebook outside the student's kernel, store those marks in the
    gradebook, and say where the notebook's own run disagreed."""
    rules, tables = module_rules(source_notebook(root, module))
    marks = mark_notebook(rules, executed, tables, _evaluator().evaluate)
    kernel = record_auto_scores(root, module, student, {g: m.score for g, m in marks.items()})
    return marking_notes(marks, kernel)


def _autograde_pipeline(config: Config, kernels: KernelMode) -> Config:
    """nbgrader's autograde pipeline with CapClaimedScores after execution (so that no
    kernel's claim can stop nbgrader) and, unless kernels are "plain", ForkedExecute in place
    of nbgrader's Execute."""
    configured = "autograde_preprocessors" in config.Autograde
    steps = (
        list(config.Autograde.autograde_preprocessors)
        if configured
        else list(Autograde.class_traits()["autograde_preprocessors"].default())
    )
    pipeline: list[Any] = []
    for step in steps:
        if step in (Execute, "nbgrader.preprocessors.Execute"):
            pipeline += [step if kernels == "plain" else ForkedExecute, CapClaimedScores]
        else:
            pipeline.append(step)
    config.Autograde.autograde_preprocessors = pipeline
    return config


def _worker_config(root: Path, kernels: KernelMode) -> Config:
    """The worker's autograde configuration (made once), with nbgrader's repeated work
    removed (`digiready.grading.nbgrader_speed`)."""
    key = (str(root), kernels)
    if key not in _WORKER_CONFIG:
        config = course_config(root / CONFIG_FILE, root)
        _WORKER_CONFIG[key] = nbgrader_speed.configure(_autograde_pipeline(config, kernels))
        nbgrader_speed.share_engines()
        nbgrader_speed.fast_output_checks()
    return _WORKER_CONFIG[key]


def source_notebook(root: Path, module: str) -> Path:
    """The module's source notebook in the course root (nbgrader's source directory)."""
    source = course_config(root / CONFIG_FILE, root).CourseDirectory.source_directory
    return root / str(source) / module / f"{module}.ipynb"


def _stage(folder: Path, module: str, inspection: Inspection, staging: Path) -> Path:
    """A copy of the submission with its notebook renamed or upgraded; the original stays."""
    target = staging / folder.parent.name / module
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.ipynb"), symlinks=True)
    nbformat.write(inspection.upgraded, target / f"{module}.ipynb")
    return staging


def _run_notes(executed: Any) -> list[str]:
    """What happened while the notebook ran that a reviewer should know."""
    notes: list[str] = []
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            name = output.get("ename")
            label = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
            if name == "CellTimeoutError":
                notes.append(f"{label}: ran past the time limit")
            elif name == "GradingStopped" and output.get("evalue") != NOT_RUN:
                stopped = str(output.get("evalue"))
                notes.append(stopped if "time budget" in stopped else f"{label}: {stopped}")
            elif "[output cut:" in str(output.get("text", "")):
                notes.append("very large output was cut")
    return list(dict.fromkeys(notes))[:5]


def _autograde_once(config: Config, module: str, student: str) -> list[str]:
    """Run nbgrader's Autograde for one student, then check the kernel server. Returns what a
    reviewer should know; raises GraderFailure when nbgrader or the server failed."""
    errors = ErrorLog()
    failure = ""
    try:
        run_converter(nbgrader_speed.InMemoryAutograde, config, module, student, errors)
    except Exception as error:  # nbgrader raises many kinds; the reason is what matters
        failure = _failure_reason(errors, error)
    aftermath = _SERVER[0].after_kernel() if _SERVER else ""
    if failure:
        raise GraderFailure(failure)
    return [aftermath] if aftermath else []


def _autograde(config: Config, module: str, student: str) -> list[str]:
    """`_autograde_once`, and once more in a fresh sandbox if the grading itself failed (the
    submissions that cannot be graded at all never get here: `inspect` finds them)."""
    try:
        return _autograde_once(config, module, student)
    except GraderFailure as failure:
        if _SERVER and not failure.restarted:
            _SERVER[0].restart()
        return _autograde_once(config, module, student)


def _not_graded(root: Path, module: str, student: str, reason: str, notes: list[str]) -> Outcome:
    """The grading failed twice: record nothing (no 0; any half-made submission of this run is
    removed from the gradebook, so a later run grades it), and say so."""
    remove_submission(root, module, student)
    reason = f"not graded: {reason}"
    return Outcome(student, "failed", reason, None, None, False, (reason, *notes))


def _ungradable(root: Path, module: str, student: str, reason: str, notes: list[str]) -> Outcome:
    record_ungradable(root, module, student, reason)
    flag_for_review(root, module, student, [reason, *notes])
    totals = _submission_totals(root, module, student)
    score, max_score = (totals[0], totals[1]) if totals else (0.0, None)
    return Outcome(student, "failed", reason, score, max_score, False, (reason, *notes))


def grade_one(
    root: Path,
    module: str,
    student: str,
    force: bool,
    kernels: KernelMode = "sandboxed",
    limits: Limits | None = None,
) -> Outcome:
    """Autograde one submission (in a worker process); never raises for a bad submission."""
    folder = submission_dir(root, module, student)
    if not folder.is_dir():
        return Outcome(student, "failed", f"no submission folder {folder}")
    inspection = inspect(folder, module, source_notebook(root, module))
    digest = submission_digest(folder)
    if not force and _read_marker(root, module, student).get("digest") == digest:
        totals = _submission_totals(root, module, student)
        if totals is not None:
            flags = tuple(flag_reasons(root, module, student))
            return Outcome(student, "skipped", "already graded and unchanged", *totals, flags)
    if inspection.notebook is None:
        return _ungradable(root, module, student, inspection.problem, list(inspection.notes))
    unreadable_time = timestamp_problem(folder)
    if unreadable_time:
        return _not_graded(root, module, student, unreadable_time, list(inspection.notes))
    _start_server(kernels, limits)
    config = copy.deepcopy(_worker_config(root, kernels))  # staging must not leak
    config.Autograde.force = True
    notes = list(inspection.notes)
    apply_extension(root, module, student)  # before nbgrader's late penalty step
    with tempfile.TemporaryDirectory(prefix="digiready-staging-") as staging:
        if inspection.upgraded is not None:
            staged = _stage(folder, module, inspection, Path(staging))
            config.CourseDirectory.submitted_directory = str(staged)
        try:
            notes += _autograde(config, module, student)
        except GraderFailure as failure:
            return _not_graded(root, module, student, str(failure), notes)
    executed = read_notebook(autograded_dir(root, module, student) / f"{module}.ipynb")
    notes += _run_notes(executed) + _decide_marks(root, module, student, executed)
    assess_late_penalties(root, module, [student])  # on the marks just decided
    notes += sanitised_notes(executed) + recovery_notes(executed)
    flag_for_review(root, module, student, notes)
    totals = _submission_totals(root, module, student)
    if totals is None:
        return Outcome(student, "failed", "nbgrader recorded no grades for this submission")
    marker = autograded_dir(root, module, student) / MARKER
    marker.write_text(json.dumps({"digest": digest}), encoding="utf-8")
    return Outcome(student, "graded", "", *totals, tuple(notes))


class GradingInterrupted(Exception):
    """The run was stopped (Ctrl-C): what was graded is kept, half-graded work rolled back."""

    def __init__(self, outcomes: list[Outcome], total: int, rolled_back: list[str]) -> None:
        super().__init__(f"stopped after {len(outcomes)} of {total} submissions")
        self.outcomes, self.total, self.rolled_back = outcomes, total, rolled_back


def _roll_back(root: Path, module: str, students: list[str]) -> list[str]:
    """Take out of the gradebook every one of `students` whose grading this run began but did
    not finish (no marker for the submission as it is), so a re-run grades them afresh."""
    rolled_back = []
    for student in students:
        folder = submission_dir(root, module, student)
        marker = _read_marker(root, module, student).get("digest")
        if folder.is_dir() and marker != submission_digest(folder):
            remove_submission(root, module, student)
            rolled_back.append(student)
    return rolled_back


def grade_cohort(
    root: Path,
    module: str,
    students: list[str] | None = None,
    workers: int = 2,
    force: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
    kernels: KernelMode = "sandboxed",
    limits: Limits | None = None,
    on_wait: Callable[[int | None], None] | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> list[Outcome]:
    """Grade every (or the named) student's submission of `module`; outcomes sorted by id,
    with `workers` processes (`worker_pool.worker_count`: 0 for one per core).

    `kernels`: "sandboxed" (default) forks each kernel from a pre-imported server inside a
    bubblewrap sandbox per worker (`digiready.grading.sandbox`) and raises SandboxUnavailable where
    none can be made; "forked" does the same without a sandbox; "plain" lets nbgrader start
    each kernel itself, unconfined. A forced regrade first backs the gradebook up. One run at a
    time per course: a second waits (`on_wait` is told the holder's process id). Ctrl-C stops
    the run: GradingInterrupted, with what was graded kept and half-graded work rolled back.
    Extensions granted are set on each submission before nbgrader grades it, and nbgrader's
    late penalty is assessed again on the marks digiready decides (`deadlines`).
    The workers start warming up (their sandboxes) before the checks below; `pool`: workers
    already warming up for this run (`worker_pool.warming_pool`), which this call shuts down.
    """
    if not re.fullmatch(r"\d\d-[a-z0-9-]+", module):
        raise ValueError(f"{module!r} is not a module id like 09-online-safeguarding")
    chosen = students if students else CourseLayout(root).submitters(module)
    workers = worker_count(workers, len(chosen))
    warm = grader_warm_up(root, module, kernels, limits)
    pool = pool or warming_pool(workers, warm)
    try:
        if kernels == "sandboxed":
            require_sandbox()
        module_rules(source_notebook(root, module))  # RuleError now, not once per student
        granted(root)  # a damaged extensions record: DeadlineProblem now, not once per student
        with grading_lock(root, on_wait):
            if force:
                backup_gradebook(root)
            ensure_assignment(root, module)
            job = partial(grade_one, root, module, force=force, kernels=kernels, limits=limits)
            outcomes: list[Outcome] = []
            try:
                outcomes.extend(_run(job, chosen, pool,
                                     partial(warming_pool, workers, warm), on_done))
            except KeyboardInterrupt:
                finished = {outcome.student for outcome in outcomes}
                unfinished = [student for student in chosen if student not in finished]
                rolled_back = _roll_back(root, module, unfinished)
                raise GradingInterrupted(outcomes, len(chosen), rolled_back) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # done already, unless this failed
    return sorted(outcomes, key=lambda outcome: outcome.student)


def warm_up(root: Path, module: str, kernels: KernelMode, limits: Limits | None) -> None:
    """A new worker's first moments: start its kernel server (the sandbox) and read the
    module's rules and configuration, while the first submissions are checked. A server that
    cannot start here is tried again, and its error reported, by `grade_one`."""
    put_environment_on_path()  # the caller's environment, given to the worker, may lack it
    with contextlib.suppress(Exception):
        _start_server(kernels, limits)
        module_rules(source_notebook(root, module))
        _worker_config(root, kernels)
    gc.freeze()  # what the worker imported and read once: never walked by a collection again


def _run(
    job: Callable[[str], Outcome],
    students: list[str],
    pool: ProcessPoolExecutor,
    new_pool: Callable[[], ProcessPoolExecutor],
    on_done: Callable[[Outcome], None] | None,
) -> Iterator[Outcome]:
    """Run `job` for each student in the worker processes of `pool`. If a worker dies, the pool
    breaks: the students it had not finished are tried once more in a fresh pool (`new_pool`).
    On Ctrl-C the students not yet started are cancelled and the run stops once the workers'
    current ones end."""
    remaining, tries = list(students), 0
    while remaining and tries < 2:
        tries += 1
        retry: list[str] = []
        with (pool if tries == 1 else new_pool()) as executor:
            futures = {executor.submit(job, student): student for student in remaining}
            try:
                for outcome in _completed(futures, tries, retry):
                    if on_done is not None:
                        on_done(outcome)
                    yield outcome
            except KeyboardInterrupt:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
        remaining = retry


def _completed(
    futures: dict[Future[Outcome], str], tries: int, retry: list[str]
) -> Iterator[Outcome]:
    """Each student's outcome as its future completes; a broken pool's students go to `retry`
    (first try) or fail."""
    for future in as_completed(futures):
        student = futures[future]
        try:
            outcome = future.result()
        except BrokenProcessPool:
            if tries < 2:
                retry.append(student)
                continue
            outcome = Outcome(student, "failed", "the grading process died")
        except KeyboardInterrupt:
            raise
        except Exception as error:  # anything else: record it for this student
            outcome = Outcome(student, "failed", f"grading process failed: {error}")
        yield outcome
