"""The `digiready` command line: each command is a thin layer over one function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from digiready import build as build_module
from digiready import course_check, datagen
from digiready import demo as demo_module
from digiready import fingerprint as fingerprint_module
from digiready.paths import CourseLayout, CourseRootNotFound, find_course_root

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
    if problems:
        console.print(f"digiready check: {len(problems)} problem(s) in {count} module(s)")
        raise typer.Exit(1)
    console.print(f"digiready check: {count} module(s), no problems")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where to make the demo course")] = Path(
        "demo-course"
    ),
) -> None:
    """Grade the solution and the untouched release of each complete module as two students."""
    layout = _layout()
    results = demo_module.run_demo(layout, layout.root / folder)
    if not results:
        console.print("No module is marked complete yet: nothing to grade.")
        return
    for result in results:
        table = Table(title=f"{result.module}: automatic points per capability")
        for column in ("student", "capability", "points"):
            table.add_column(column)
        for score in result.scores:
            table.add_row(
                score.student, score.capability, f"{score.earned:g} / {score.available:g}"
            )
        console.print(table)
    console.print(f"Demo course (gradebook, autograded notebooks): {layout.root / folder}")


@app.command()
def lab(
    folder: Annotated[
        str, typer.Option(help="Folder to open: assignments, course or solutions")
    ] = "assignments",
) -> None:
    """Open JupyterLab on the course (students: assignments; authors: course)."""
    layout = _layout()
    subprocess.run(
        [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={layout.root / folder}"],
        check=False,
    )


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
