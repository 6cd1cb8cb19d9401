"""The `digiready` command line: each command is a thin layer over one function."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from digiready import build as build_module
from digiready import cohort_grading, course_check, datagen, lms_export, lms_import, student_lab
from digiready import demo as demo_module
from digiready import fingerprint as fingerprint_module
from digiready import report as report_module
from digiready.answers import cohort_answers, cohort_self_ratings
from digiready.cohort_scores import load_scores
from digiready.curriculum import load_curriculum
from digiready.item_rules import RuleError
from digiready.nbgrader_run import gradebook_url
from digiready.paths import CourseLayout, CourseRootNotFound, find_course_root
from digiready.sandbox import SandboxUnavailable

app = typer.Typer(help="Build, check and grade the digiready course.", no_args_is_help=True)
console = Console()


def _layout() -> CourseLayout:
    try:
        return find_course_root()
    except CourseRootNotFound as error:
        console.print(f"[bold]error:[/bold] {error}")
        raise typer.Exit(2) from error


def _built_modules(layout: CourseLayout) -> list[str]:
    return sorted(path.parent.name for path in layout.source.glob("*/*.ipynb"))


@app.command()
def build(
    modules: Annotated[list[str] | None, typer.Argument(help="Module ids; default all")] = None,
) -> None:
    """Regenerate assignments/ and solutions/ from course/ with nbgrader."""
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
    layout = _layout()
    problems = course_check.check_course(layout, sync=sync)
    for problem in problems:
        console.print(str(problem), markup=False, highlight=False)
    count = len(_built_modules(layout))
    failures = [problem for problem in problems if not problem.warning]
    warnings = len(problems) - len(failures)
    noted = f", {warnings} warning(s)" if warnings else ""
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
    layout = _layout()
    curriculum = load_curriculum(layout.curriculum)
    total = (size + len(demo_module.REFERENCE_STUDENTS)) * len(curriculum.complete_modules)
    with _progress(total, "grading the demo cohort") as advance:
        result = demo_module.run_demo(layout, layout.root / folder, size, workers, advance)
    if result.sandbox_problem is None:
        console.print("Graded in the bubblewrap sandbox.")
    else:
        console.print(f"Graded WITHOUT a sandbox: {result.sandbox_problem}", markup=False)
    for module, outcomes in result.outcomes.items():
        console.print(_summary(module, outcomes), markup=False, highlight=False)
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
    layout = _layout()
    students = student or cohort_grading.find_students(layout.root, module)
    if not students:
        console.print(f"No submissions in {layout.root / 'submitted'}/<student>/{module}/")
        raise typer.Exit(1)
    kernels: cohort_grading.KernelMode = "forked" if unsafe else "sandboxed"
    if unsafe:
        console.print("WARNING: --unsafe: students' code runs unconfined, as you.")
    try:
        with _progress(len(students), f"grading {module}") as advance:
            outcomes = cohort_grading.grade_cohort(
                layout.root, module, students, workers or os.cpu_count() or 1, force, advance,
                kernels,
            )
    except (SandboxUnavailable, RuleError) as error:
        console.print(f"Not grading: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from error
    console.print(_summary(module, outcomes), markup=False, highlight=False)
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
) -> None:
    """Bring a Moodle or Canvas submissions zip into submitted/.

    Exit code 1: nothing imported (a problem with the zip or class list); 3: imported, but some
    students' notebooks are broken or were not imported (listed with the reasons)."""
    layout = _layout()
    if lms not in ("auto", "moodle", "canvas"):
        console.print(f"--format must be auto, moodle or canvas, not {lms!r}")
        raise typer.Exit(2)
    try:
        report = lms_import.import_lms_zip(
            zip_file,
            module,
            layout.root,
            class_list,
            cast(Literal["auto", "moodle", "canvas"], lms),
            overwrite,
            skip_unknown,
        )
    except lms_import.ImportProblem as problem:
        console.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from problem
    console.print(lms_import.format_report(report), markup=False, highlight=False)
    if report.problems:
        raise typer.Exit(3)


@app.command()
def report(
    pathway: Annotated[str | None, typer.Option(help="Only this pathway's modules")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the report")] = Path("report"),
    threshold: Annotated[float, typer.Option(help="Share of points that secures a level")] = 0.6,
    target_level: Annotated[int, typer.Option(help="Level below which a student is listed")] = 2,
) -> None:
    """Write the readiness report (HTML, CSVs, a page per student) from the gradebook."""
    layout = _layout()
    curriculum = load_curriculum(layout.curriculum)
    modules = [m.id for m in curriculum.complete_modules]
    scores = load_scores(gradebook_url(layout.root), layout, modules)
    autograded = layout.root / "autograded"
    path = report_module.write_report(
        scores,
        curriculum,
        layout.root / out,
        self_ratings=cohort_self_ratings(autograded, [c.id for c in curriculum.capabilities]),
        answers=cohort_answers(autograded, modules),
        threshold=threshold,
        target_level=target_level,
        pathway=pathway,
    )
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
    curriculum = load_curriculum(layout.curriculum)
    modules = module or [m.id for m in curriculum.complete_modules]
    scores = load_scores(gradebook_url(layout.root), layout, modules)
    target = out or layout.root / f"grades-{fmt}.csv"
    path = lms_export.export_grades(
        scores,
        curriculum,
        cast(lms_export.Format, fmt),
        target,
        modules,
        cast(lms_export.Pending, pending),
    )
    console.print(f"wrote {path}")


def _summary(module: str, outcomes: list[cohort_grading.Outcome]) -> str:
    """The end-of-grading summary: counts, then each failure and each flag with its reasons."""
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in ("graded", "skipped", "failed")
    }
    manual = sum(o.needs_manual_grade for o in outcomes if o.status != "failed")
    flagged = sum(o.flagged for o in outcomes)
    not_graded = sum(o.status == "failed" and o.score is None for o in outcomes)
    lines = [
        f"{module}: {counts['graded']} graded, {counts['skipped']} unchanged (skipped), "
        f"{counts['failed'] - not_graded} could not be graded (recorded as 0), "
        + (f"{not_graded} not graded (nothing recorded: grade again), " if not_graded else "")
        + f"{flagged} flagged for review, {manual} awaiting manual grading"
    ]
    for o in outcomes:
        if o.status == "failed":
            lines.append(f"  NOT GRADED {o.student}: {o.reason}")
        elif o.flagged:
            lines.append(f"  FLAGGED {o.student} ({o.score:g}/{o.max_score:g}): "
                         + "; ".join(o.flags))
    return "\n".join(lines)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[cohort_grading.Outcome], None]]:
    """A progress bar advanced once per graded submission."""
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
    layout = _layout()
    for path in datagen.write_datasets(layout.data):
        console.print(f"wrote {path}")


@app.command()
def fingerprint(
    sources: Annotated[Path, typer.Argument(help="Folder of source .txt files")],
) -> None:
    """Rebuild the copy-detection fingerprint from the source documents."""
    count = fingerprint_module.write_fingerprint(sources)
    console.print(f"fingerprint: {count} hashed 12-word runs from {sources}")
