"""The `digiready` command line: each command is a thin layer over one function."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer
from rich.console import Console

from digiready.course.paths import REPORT_DIR, CourseLayout, CourseRootNotFound, find_course_root
from digiready.git_safety import unignored_warning
from digiready.grading.course_gradebook import (
    GradebookProblem,
    check_gradebook,
    require_gradebook,
    sqlite_file,
)

if TYPE_CHECKING:
    from digiready.course.curriculum import Curriculum
    from digiready.grading.cohort_grading import Outcome
    from digiready.grading.deadlines import Extension

# Start-up: `digiready --help` and argument errors must answer at once, so each command imports
# the heavy modules it needs (nbgrader, pandas, the grader) itself, when it runs; a test checks
# that importing this module pulls none of them in.
app = typer.Typer(help="Build, check and grade the digiready course.", no_args_is_help=True)
console = Console()


def main() -> None:
    """The `digiready` command: the app, then an exit without Python's last garbage collections
    over everything the command imported (`gc.freeze`; they took about 0.3 s)."""
    try:
        app()
    finally:
        gc.freeze()


def _quiet_gradebook_warnings() -> None:
    """nbgrader 0.9's gradebook code warns under SQLAlchemy 2 about objects it adds through
    relationships; nothing a lecturer can act on (the test suite ignores it the same way)."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _layout() -> CourseLayout:
    try:
        return find_course_root()
    except CourseRootNotFound as error:
        console.print(f"[bold]error:[/bold] {error}")
        raise typer.Exit(2) from error


def _built_modules(layout: CourseLayout) -> list[str]:
    return sorted(path.parent.name for path in layout.source.glob("*/*.ipynb"))


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line saying what is wrong and what to do; the Exit to raise."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _curriculum(layout: CourseLayout) -> Curriculum:
    from digiready.course.curriculum import load_curriculum

    return load_curriculum(layout.curriculum)


def _complete_modules(layout: CourseLayout, curriculum: Curriculum) -> list[str]:
    """The modules that can be graded: complete in the curriculum, with a master notebook."""
    built = set(_built_modules(layout))
    return [m.id for m in curriculum.complete_modules if m.id in built]


def _check_modules(layout: CourseLayout, curriculum: Curriculum, modules: list[str]) -> None:
    """Exit 2 naming the valid module ids when any of `modules` is not one."""
    valid = _complete_modules(layout, curriculum)
    unknown = [module for module in modules if module not in valid]
    if unknown:
        planned = {m.id for m in curriculum.modules} - set(valid)
        why = "is planned, not complete" if unknown[0] in planned else "is not a module"
        raise _fail(f"{unknown[0]!r} {why}: use one of {', '.join(valid)}", 2)


def _warn_if_not_ignored(path: Path, is_folder: bool = False) -> None:
    warning = unignored_warning(path, is_folder)
    if warning:
        console.print(warning, markup=False, highlight=False, soft_wrap=True)


def _gradebook(layout: CourseLayout, must_exist: bool) -> str:
    """The course's gradebook URL, checked; exit 1 with one line when it is missing (for
    commands that read grades), corrupt or locked."""
    _quiet_gradebook_warnings()
    try:
        return require_gradebook(layout.root) if must_exist else check_gradebook(layout.root)
    except GradebookProblem as problem:
        raise _fail(str(problem)) from problem


@contextmanager
def _gradebook_errors() -> Iterator[None]:
    """A gradebook that fails while in use (locked part-way, damaged): one line, exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except GradebookProblem as problem:
        raise _fail(str(problem)) from problem
    except SQLAlchemyError as error:
        first = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
        raise _fail(
            f"the gradebook could not be used ({first}): if another program is grading or "
            "formgrader is saving, wait and run again; if it is damaged, restore a copy from "
            "gradebook-backups/"
        ) from error


def _question_headings(layout: CourseLayout, modules: list[str]) -> dict[str, str]:
    """"Question 4.1 — Rosa, 79, …" for each graded item of `modules`, from the masters."""
    from digiready.course.items import read_notebook
    from digiready.grading.item_texts import item_texts

    headings: dict[str, str] = {}
    for module in modules:
        notebook = read_notebook(layout.module_notebook(layout.source, module))
        headings.update({key: text.heading for key, text in item_texts(notebook).items()})
    return headings


def _class_list_names(db_url: str) -> dict[str, dict[str, str]]:
    """Everyone in the gradebook, for the exports: name ("First Last"), Canvas's sortable name
    ("Last, First") and Canvas user id."""
    from digiready.lms import roster

    return {
        student_id: {
            "name": person.name,
            "sortable": ", ".join(p for p in (person.last_name, person.first_name) if p),
            "id": person.lms_user_id,
        }
        for student_id, person in roster.read_roster(db_url).items()
    }


def _gradebook_exists(db_url: str) -> bool:
    """False when the gradebook is a SQLite file not made yet (reading would create it)."""
    database = sqlite_file(db_url)
    return database is None or database.exists()


def _reassess_late_work(layout: CourseLayout, db_url: str, modules: list[str]) -> None:
    """For the modules with a due date: the extensions granted set on every submission, and
    nbgrader's late penalties assessed again on the marks as they are now (manual marks entered
    in formgrader since grading count)."""
    from digiready.grading import deadlines as deadlines_module

    _granted(layout)  # a damaged record: one line, before anything is changed
    due = deadlines_module.due_dates(db_url)
    for module in modules:
        if due.get(module) is not None:
            deadlines_module.reassess(layout.root, module)


def _granted(layout: CourseLayout) -> dict[tuple[str, str], Extension]:
    from digiready.grading import deadlines as deadlines_module
    from digiready.grading.deadlines import DeadlineProblem

    try:
        return deadlines_module.granted(layout.root)
    except DeadlineProblem as problem:
        raise _fail(str(problem)) from problem


@app.command()
def build(
    modules: Annotated[list[str] | None, typer.Argument(help="Module ids; default all")] = None,
) -> None:
    """Regenerate assignments/ and solutions/ from course/ with nbgrader."""
    from digiready.authoring import build as build_module

    layout = _layout()
    chosen = modules or _built_modules(layout)
    build_module.build(layout, chosen)
    console.print(f"built {len(chosen)} module(s): {', '.join(chosen)}")


@app.command()
def check(
    sync: Annotated[
        bool, typer.Option(help="Also rebuild and compare assignments/ and solutions/")
    ] = True,
) -> None:
    """Validate course/: metadata, ids, tags, outputs, curriculum, sync, copying."""
    from digiready.authoring import check as course_check

    layout = _layout()
    problems = course_check.check_course(layout, sync=sync)
    for problem in problems:
        console.print(str(problem), markup=False, highlight=False)
    count = len(_built_modules(layout))
    failures = [problem for problem in problems if not problem.warning]
    warned = len(problems) - len(failures)
    noted = f", {warned} warning(s)" if warned else ""
    if failures:
        console.print(f"digiready check: {len(failures)} problem(s){noted} in {count} module(s)")
        raise typer.Exit(1)
    console.print(f"digiready check: {count} module(s), no problems{noted}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where to make the demo course")] = Path(
        "demo-course"
    ),
    size: Annotated[int, typer.Option(help="Synthetic students")] = 40,
    workers: Annotated[int, typer.Option(help="Grading processes")] = 2,
) -> None:
    """Grade a synthetic cohort on every complete module and write its readiness report."""
    from digiready import demo as demo_module

    layout = _layout()
    curriculum = _curriculum(layout)
    total = (size + len(demo_module.REFERENCE_STUDENTS)) * len(curriculum.complete_modules)
    with _progress(total, "grading the demo cohort") as advance:
        result = demo_module.run_demo(layout, layout.root / folder, size, workers, advance)
    if result.sandbox_problem is None:
        console.print("Graded in the bubblewrap sandbox.")
    else:
        console.print(f"Graded WITHOUT a sandbox: {result.sandbox_problem}", markup=False)
    for module, outcomes in result.outcomes.items():
        console.print(_summary(module, outcomes), markup=False, highlight=False, soft_wrap=True)
    for path in result.exports:
        console.print(f"LMS export: {path}")
    console.print(f"Readiness report (open in a browser): {result.report}")


@app.command()
def grade(
    module: Annotated[str, typer.Argument(help="Module id, e.g. 09-online-safeguarding")],
    student: Annotated[list[str] | None, typer.Option(help="Only these student ids")] = None,
    workers: Annotated[int, typer.Option(help="Grading processes (default: one per core)")] = 0,
    force: Annotated[
        bool, typer.Option(help="Regrade submissions already graded (backs the gradebook up)")
    ] = False,
    unsafe: Annotated[
        bool,
        typer.Option(help="Run students' code WITHOUT a sandbox, with your permissions"),
    ] = False,
) -> None:
    """Autograde submitted/<student>/<module>/ in parallel into nbgrader's gradebook, each
    kernel confined in a bubblewrap sandbox."""
    from digiready.grading.worker_pool import (
        grader_warm_up,
        warming_pool,
        worker_context,
        worker_count,
    )

    worker_context()  # the workers' fork server imports the grader while this process goes on
    layout = _layout()
    _check_modules(layout, _curriculum(layout), [module])
    db_url = _gradebook(layout, must_exist=False)
    submitted = layout.submitters(module)
    unknown = [s for s in student or [] if s not in submitted]
    if unknown:
        raise _fail(
            f"no submission from student {unknown[0]!r} in {layout.root / 'submitted'}/"
            f"<student>/{module}/: check the id (students with one: "
            f"{', '.join(submitted[:10]) or 'none'}{' ...' if len(submitted) > 10 else ''})",
            2,
        )
    students = student or submitted
    if not students:
        raise _fail(
            f"No submissions in {layout.root / 'submitted'}/<student>/{module}/: import them "
            "with `digiready import-lms` or nbgrader collect first"
        )
    kernels: Literal["forked", "sandboxed"] = "forked" if unsafe else "sandboxed"
    count = worker_count(workers, len(students))
    # the workers start (and start their sandboxes) while this process imports the grader
    pool = warming_pool(count, grader_warm_up(layout.root, module, kernels))
    from digiready.grading import cohort_grading
    from digiready.grading.deadlines import DeadlineProblem
    from digiready.grading.item_rules import RuleError
    from digiready.grading.sandbox import SandboxUnavailable
    from digiready.lms import roster

    if unsafe:
        console.print("WARNING: --unsafe: students' code runs unconfined, as you.")
    try:
        with _progress(len(students), f"grading {module}") as advance:
            outcomes = cohort_grading.grade_cohort(
                layout.root, module, students, count, force, advance,
                kernels, on_wait=_say_waiting, pool=pool,
            )
    except cohort_grading.GradingInterrupted as stopped:
        console.print(_summary(module, stopped.outcomes), markup=False, highlight=False,
                      soft_wrap=True)
        console.print(
            f"Stopped: {len(stopped.outcomes)} of {stopped.total} submissions graded and saved; "
            f"{len(stopped.rolled_back)} half-graded submission(s) taken back out of the "
            "gradebook. Run the same command again to grade the rest.",
            markup=False, highlight=False,
        )
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        console.print("Stopped before any submission was graded.")
        raise typer.Exit(130) from None
    except (SandboxUnavailable, RuleError) as error:
        console.print(f"Not grading: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from error
    except DeadlineProblem as problem:
        raise _fail(f"Not grading: {problem}") from problem
    except GradebookProblem as problem:
        raise _fail(f"Not grading: {problem}") from problem
    console.print(_summary(module, outcomes), markup=False, highlight=False, soft_wrap=True)
    if not student:
        with _gradebook_errors():
            missing = sorted(set(roster.read_roster(db_url)) - set(submitted))
        if missing:
            console.print(
                f"{len(missing)} on the class list with no submission (shown as 'no submission' "
                f"in the report and exports): {', '.join(missing)}",
                markup=False, highlight=False, soft_wrap=True,
            )
    if any(outcome.status == "failed" for outcome in outcomes):
        raise typer.Exit(1)


@app.command("import-lms")
def import_lms(
    zip_file: Annotated[Path, typer.Argument(help="The LMS's download-all-submissions zip")],
    module: Annotated[str, typer.Option(help="Module the submissions are for")],
    class_list: Annotated[
        Path | None, typer.Option(help="CSV mapping LMS ids to student ids")
    ] = None,
    lms: Annotated[str, typer.Option("--format", help="auto, moodle or canvas")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing submissions")] = False,
    skip_unknown: Annotated[bool, typer.Option(help="Skip people not in the class list")] = False,
    worksheet: Annotated[
        Path | None,
        typer.Option(help="Moodle's grading worksheet: submission times for timestamp.txt"),
    ] = None,
) -> None:
    """Bring a Moodle or Canvas submissions zip into submitted/.

    Exit code 1: nothing imported (a problem with the zip or class list); 3: imported, but some
    students' notebooks are broken or were not imported (listed with the reasons)."""
    from digiready.lms.class_list import ClassListProblem, Person, read_class_list

    layout = _layout()
    if lms not in ("auto", "moodle", "canvas"):
        console.print(f"--format must be auto, moodle or canvas, not {lms!r}")
        raise typer.Exit(2)
    _check_modules(layout, _curriculum(layout), [module])
    db_url = _gradebook(layout, must_exist=False)
    try:
        people = read_class_list(class_list) if class_list is not None else []
    except ClassListProblem as problem:
        raise _fail(f"{problem}: nothing imported", 1) from problem
    from digiready.lms import roster
    from digiready.lms import zip_import as lms_import

    _warn_if_not_ignored(layout.submitted, is_folder=True)
    try:
        report = lms_import.import_lms_zip(
            zip_file,
            module,
            layout.root,
            class_list,
            cast(Literal["auto", "moodle", "canvas"], lms),
            overwrite,
            skip_unknown,
            worksheet,
        )
    except lms_import.ImportProblem as problem:
        console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from problem
    except lms_import.InstallFailed as failure:
        raise _fail(f"{zip_file}: {failure}") from failure
    # without a class list, a Canvas zip's ids are Canvas user ids: recorded as such, so the
    # Canvas export puts them back in its ID column
    canvas_ids = class_list is None and report.lms == "canvas"
    listed = {person.student_id for person in people}
    new = [
        Person(sid, lms_user_id=sid if canvas_ids else "")
        for sid in sorted({*report.imported, *report.not_imported} - listed)
    ]
    with _gradebook_errors():
        roster.record_students(db_url, [*people, *new])
    console.print(lms_import.format_report(report), markup=False, highlight=False)
    if report.problems:
        raise typer.Exit(3)


@app.command("class-list")
def class_list_command(
    csv_file: Annotated[Path, typer.Argument(help="Class list CSV (plain, Moodle or Canvas)")],
) -> None:
    """Record the class list in nbgrader's gradebook (ids, names, emails, Canvas ids), so every
    student on it appears in grading, the report and the exports."""
    from digiready.lms import roster
    from digiready.lms.class_list import ClassListProblem, read_class_list

    layout = _layout()
    db_url = _gradebook(layout, must_exist=False)
    try:
        people = read_class_list(csv_file)
    except ClassListProblem as problem:
        raise _fail(str(problem)) from problem
    with _gradebook_errors():
        count = roster.record_students(db_url, people)
    console.print(f"recorded {count} student(s) from {csv_file} in the gradebook")
    _warn_if_not_ignored(csv_file)


@app.command()
def deadline(
    module: Annotated[
        str | None, typer.Argument(help="Module id; without one, every module's due date")
    ] = None,
    when: Annotated[
        str | None,
        typer.Argument(help="Due date and time in UK time, e.g. 2026-12-14T17:00; 'none' "
                       "removes it; without one, show the module's due date and extensions"),
    ] = None,
) -> None:
    """Set or show a module's due date (nbgrader's, in the gradebook), in UK time."""
    layout = _layout()
    curriculum = _curriculum(layout)
    if module is not None:
        _check_modules(layout, curriculum, [module])
    from digiready.grading import cohort_grading
    from digiready.grading import deadlines as deadlines_module
    from digiready.grading.deadlines import DeadlineProblem

    db_url = _gradebook(layout, must_exist=False)
    extensions = _granted(layout)
    if module is None or when is None:
        with _gradebook_errors():
            due = deadlines_module.due_dates(db_url) if _gradebook_exists(db_url) else {}
        for shown in [module] if module else _complete_modules(layout, curriculum):
            console.print(_due_line(shown, due.get(shown), extensions, detail=bool(module)),
                          markup=False, highlight=False, soft_wrap=True)
        return
    try:
        new = None if when.strip().lower() == "none" else deadlines_module.parse_uk_time(when)
    except DeadlineProblem as problem:
        raise _fail(f"digiready deadline {module}: {problem}; nothing changed", 2) from problem
    with _gradebook_errors():
        cohort_grading.ensure_assignment(layout.root, module)
        deadlines_module.set_due_date(db_url, module, new)
        assessed = deadlines_module.reassess(layout.root, module)
    line = _due_line(module, new, extensions, detail=False)
    if new is not None:
        line += f" (nbgrader's gradebook holds {new:%Y-%m-%d %H:%M} UTC)"
    if assessed:
        line += f"; late penalties assessed again for {assessed} graded submission(s)"
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _due_line(
    module: str,
    due: datetime | None,
    extensions: dict[tuple[str, str], Extension],
    detail: bool,
) -> str:
    """'09-...: due Monday 14 December 2026, 17:00 GMT (2 extensions)', and with `detail` a line
    per extension."""
    from digiready.grading import deadlines as deadlines_module

    granted = [e for (_, m), e in sorted(extensions.items()) if m == module]
    text = f"{module}: " + (f"due {deadlines_module.uk_text(due)}" if due else "no due date")
    if not detail:
        return text + (f" ({len(granted)} extension(s))" if granted else "")
    return "\n".join([text, *[f"  extension for {e.student}: {e.describe(due)}" for e in granted]])


@app.command()
def extensions(
    csv_file: Annotated[
        Path | None,
        typer.Argument(help="CSV with student_id, module and new_due (UK time) or extra_days; "
                       "without one, list the extensions granted"),
    ] = None,
) -> None:
    """Grant extensions: recorded for grading and set on nbgrader's submissions (a row with
    extra_days 0 takes one back). Nothing is recorded if any row is wrong."""
    from digiready.grading import deadlines as deadlines_module
    from digiready.grading.deadlines import DeadlineProblem
    from digiready.lms import roster

    layout = _layout()
    curriculum = _curriculum(layout)
    record = _granted(layout)
    db_url = _gradebook(layout, must_exist=False)
    with _gradebook_errors():
        exists = _gradebook_exists(db_url)
        due = deadlines_module.due_dates(db_url) if exists else {}
        students = roster.read_roster(db_url) if exists else {}
    if csv_file is None:
        for (student, module), extension in sorted(record.items()):
            console.print(f"{student} on {module}: {extension.describe(due.get(module))}",
                          markup=False, highlight=False)
        console.print(f"{len(record)} extension(s) granted ({layout.extensions.name})")
        return
    try:
        new = deadlines_module.read_extensions(
            csv_file, students, _complete_modules(layout, curriculum), due
        )
    except DeadlineProblem as problem:
        for line in problem.problems:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise _fail(f"{csv_file}: nothing recorded ({len(problem.problems)} problem(s))") \
            from problem
    _warn_if_not_ignored(layout.extensions)
    deadlines_module.record_extensions(layout.root, new)
    with _gradebook_errors():
        graded = sum(deadlines_module.reassess(layout.root, module)
                     for module in sorted({e.module for e in new}))
    assessed = f"; late penalties assessed again for {graded} graded submission(s)" \
        if graded else ""
    console.print(
        f"recorded {len(new)} extension(s) from {csv_file} in {layout.extensions.name}{assessed}",
        markup=False, highlight=False, soft_wrap=True,
    )


@app.command()
def feedback(
    module: Annotated[str, typer.Argument(help="Module id, e.g. 09-online-safeguarding")],
    allow_pending: Annotated[
        bool, typer.Option(help="Generate even while manual marks are still to be entered")
    ] = False,
    release: Annotated[
        bool, typer.Option(help="Release it through the JupyterHub exchange (nbgrader's)")
    ] = False,
) -> None:
    """Generate each graded student's feedback (nbgrader's GenerateFeedback) into
    feedback/<student>/<module>/, and release it where a JupyterHub exchange is configured."""
    layout = _layout()
    _check_modules(layout, _curriculum(layout), [module])
    from nbgrader.converters import GenerateFeedback

    from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, run_converter
    from digiready.reporting.cohort_scores import load_scores

    db_url = _gradebook(layout, must_exist=True)
    with _gradebook_errors():
        scores = load_scores(db_url, layout, [module])
    if scores.empty:
        raise _fail(f"no grades for {module} yet: run `digiready grade {module}` first")
    pending = scores[scores["needs_manual_grade"]]
    if len(pending) and not allow_pending:
        raise _fail(
            f"{len(pending)} manual mark(s) for {pending['student'].nunique()} student(s) still "
            f"to be entered in formgrader for {module}: mark them first, or use --allow-pending "
            "(their feedback then says 'not yet marked')"
        )
    config = course_config(layout.root / CONFIG_FILE, layout.root)
    students = sorted(
        s for s in scores["student"].unique()
        if layout.autograded_submission(s, module).is_dir()
    )
    _warn_if_not_ignored(layout.feedback, is_folder=True)
    for student in students:
        run_converter(GenerateFeedback, config, module, student)
    console.print(
        f"feedback for {len(students)} student(s) in {layout.feedback}/<student>/"
        f"{module}/", markup=False, highlight=False,
    )
    if not release:
        return
    from digiready.hub import exchange_root

    exchange = exchange_root(layout.root)
    if not Path(str(exchange)).is_dir():
        raise _fail(
            f"not released: no JupyterHub exchange at {exchange} (set c.Exchange.root in "
            "nbgrader_config.py); return the HTML files through your LMS instead"
        )
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "release_feedback", module],
        cwd=layout.root, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise _fail(f"nbgrader release_feedback failed: {last}")
    console.print(f"released feedback for {module} through {exchange}")


@app.command()
def report(
    pathway: Annotated[str | None, typer.Option(help="Only this pathway's modules")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the report")] = Path(REPORT_DIR),
    threshold: Annotated[float, typer.Option(help="Share of points that secures a level")] = 0.6,
    target_level: Annotated[int, typer.Option(help="Level below which a student is listed")] = 2,
    cohort: Annotated[
        str | None, typer.Option(help="The cohort's name for the headline (default: the folder)")
    ] = None,
    templates: Annotated[
        Path | None,
        typer.Option(help="Folder of your own report templates or report.css, used before the "
                     "built-in ones of the same name"),
    ] = None,
) -> None:
    """Write the readiness report (HTML, CSVs, a page per student) from the gradebook."""
    layout = _layout()
    curriculum = _curriculum(layout)
    pathways = [p.id for p in curriculum.pathways]
    if pathway is not None and pathway not in pathways:
        raise _fail(f"{pathway!r} is not a pathway: use one of {', '.join(pathways)}", 2)
    if templates is not None and not (layout.root / templates).is_dir():
        raise _fail(f"--templates: {layout.root / templates} is not a folder", 2)
    from digiready import demo as demo_module
    from digiready.lms import roster
    from digiready.reporting import report as report_module
    from digiready.reporting.answers import cohort_answers, cohort_self_ratings
    from digiready.reporting.cohort_scores import load_scores

    db_url = _gradebook(layout, must_exist=True)
    modules = _complete_modules(layout, curriculum)
    autograded = layout.autograded
    _warn_if_not_ignored(layout.root / out, is_folder=True)
    with _gradebook_errors():
        _reassess_late_work(layout, db_url, modules)
        scores = load_scores(db_url, layout, modules)
        if scores.empty:
            raise _fail("no grades yet: run `digiready grade MODULE` first")
        try:
            path = report_module.write_report(
                scores,
                curriculum,
                layout.root / out,
                self_ratings=cohort_self_ratings(
                    autograded, [c.id for c in curriculum.capabilities]
                ),
                answers=cohort_answers(autograded, modules),
                threshold=threshold,
                target_level=target_level,
                pathway=pathway,
                statuses=roster.submission_status(db_url, layout.root, modules),
                references=list(demo_module.REFERENCE_STUDENTS),
                questions=_question_headings(layout, modules),
                cohort=cohort or layout.root.name,
                templates=None if templates is None else layout.root / templates,
            )
        except report_module.ReportTemplateError as error:
            raise _fail(f"a report template could not be used: {error}") from error
    console.print(f"Readiness report: {path}")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv, moodle or canvas")] = "csv",
    module: Annotated[list[str] | None, typer.Option(help="Only these modules")] = None,
    out: Annotated[Path | None, typer.Option(help="File to write")] = None,
    pending: Annotated[str, typer.Option(help="Pending manual grades: blank or zero")] = "blank",
) -> None:
    """Write grades in a format Moodle or Canvas imports, ids kept exactly."""
    layout = _layout()
    if fmt not in ("csv", "moodle", "canvas") or pending not in ("blank", "zero"):
        console.print("--format must be csv, moodle or canvas; --pending blank or zero")
        raise typer.Exit(2)
    curriculum = _curriculum(layout)
    if module:
        _check_modules(layout, curriculum, module)
    from digiready.lms import export as lms_export
    from digiready.lms import roster
    from digiready.reporting.cohort_scores import load_scores

    db_url = _gradebook(layout, must_exist=True)
    modules = module or _complete_modules(layout, curriculum)
    target = out or layout.root / f"grades-{fmt}.csv"
    with _gradebook_errors():
        scores = load_scores(db_url, layout, modules)
        graded = sorted(set(scores["module"]))
        if not graded or (module and set(module) - set(graded)):
            missing = sorted(set(module or modules) - set(graded))
            raise _fail(
                f"no grades to export for {', '.join(missing)}: run `digiready grade "
                f"{missing[0]}` first"
                + (f" (graded so far: {', '.join(graded)})" if graded else "")
            )
        _reassess_late_work(layout, db_url, graded)
        statuses = roster.submission_status(db_url, layout.root, graded)
        keys = list(zip(statuses["student"].astype(str), statuses["module"].astype(str),
                        strict=True))
        _warn_if_not_ignored(target)
        path = lms_export.export_grades(
            scores,
            curriculum,
            cast(lms_export.Format, fmt),
            target,
            module or graded,
            cast(lms_export.Pending, pending),
            class_list=_class_list_names(db_url),
            statuses=dict(zip(keys, statuses["status"].astype(str), strict=True)),
            deadlines=dict(zip(keys, statuses["deadline"].astype(str), strict=True)),
            penalties=dict(zip(keys, statuses["penalty"].astype(float), strict=True)),
        )
    console.print(f"wrote {path}")


def _say_waiting(holder: int | None) -> None:
    """Tell the lecturer this run waits for another one on the same course."""
    who = f" (process {holder})" if holder else ""
    console.print(f"Another digiready grade is grading this course{who}: waiting for it to "
                  "finish, so that the two never write the gradebook at once.", markup=False)


def _summary(module: str, outcomes: list[Outcome]) -> str:
    """The end-of-grading summary: counts, then each failure and each flag with its reasons."""
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in ("graded", "skipped", "failed")
    }
    manual = sum(o.needs_manual_grade for o in outcomes if o.status != "failed")
    flagged = sum(o.flagged for o in outcomes)
    not_graded = sum(o.status == "failed" and o.score is None for o in outcomes)
    zeros = counts["failed"] - not_graded
    parts = [f"{counts['graded']} graded", f"{counts['skipped']} unchanged (skipped)"]
    parts += [f"{zeros} could not be graded (recorded as 0)"] if zeros else []
    parts += [f"{not_graded} not graded (nothing recorded: grade again)"] if not_graded else []
    parts += [f"{flagged} flagged for review", f"{manual} awaiting manual grading"]
    lines = [f"{module}: " + ", ".join(parts)]
    for o in outcomes:
        if o.status == "failed":
            lines.append(f"  NOT GRADED {o.student}: {o.reason}")
        elif o.flagged:
            lines.append(f"  FLAGGED {o.student} ({o.score:g}/{o.max_score:g}): "
                         + "; ".join(o.flags))
    return "\n".join(lines)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar advanced once per graded submission."""
    from rich.progress import MofNCompleteColumn, Progress

    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _outcome: bar.advance(task)


@app.command()
def lab(
    folder: Annotated[
        str,
        typer.Option(help="Folder to open: assignments, course or solutions in a course root; "
                     "any folder elsewhere (a student's modules)"),
    ] = "assignments",
    author: Annotated[
        bool, typer.Option(help="Keep nbgrader's instructor tools (default for course/solutions)")
    ] = False,
) -> None:
    """Open JupyterLab: students get Validate without nbgrader's instructor tools."""
    from digiready import student_lab

    try:
        target = find_course_root().root / folder
    except CourseRootNotFound:
        target = Path(folder)
    if not target.is_dir():
        console.print(f"[bold]error:[/bold] no folder {target}")
        raise typer.Exit(2)
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={target.resolve()}"]
    if author or folder in ("course", "solutions"):
        subprocess.run(command, check=False)
        return
    with tempfile.TemporaryDirectory(prefix="digiready-lab-") as config:
        student_lab.student_config(Path(config))
        subprocess.run(command, check=False, env=student_lab.with_config_path(Path(config),
                                                                             os.environ))


@app.command()
def data() -> None:
    """Regenerate the synthetic datasets in data/ (fixed seed)."""
    from digiready.data import generate as datagen

    layout = _layout()
    for path in datagen.write_datasets(layout.data):
        console.print(f"wrote {path}")


@app.command()
def fingerprint(
    sources: Annotated[Path, typer.Argument(help="Folder of source .txt files")],
) -> None:
    """Rebuild the copy-detection fingerprint from the source documents."""
    from digiready.authoring import fingerprint as fingerprint_module

    count = fingerprint_module.write_fingerprint(sources)
    console.print(f"fingerprint: {count} hashed 12-word runs from {sources}")


@app.command("hub-config")
def hub_config(
    folder: Annotated[Path, typer.Argument(help="Where to write it")] = Path("/etc/digiready"),
    exchange: Annotated[Path, typer.Option(help="nbgrader's exchange folder")] = Path(
        "/srv/nbgrader/exchange"
    ),
    course_id: Annotated[str, typer.Option(help="nbgrader's course id")] = "digiready",
) -> None:
    """Write the JupyterHub course's student and instructor Jupyter configuration (deploy/)."""
    from digiready.hub import write_hub_config

    for role, path in write_hub_config(folder, exchange, course_id).items():
        console.print(f"{role} configuration: {path}", markup=False, highlight=False)
