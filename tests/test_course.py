"""The real course: check is clean, the demo grades each complete module, the CLI runs."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import COMPLETE_MODULES, REPO
from digiready.authoring.check import check_course
from digiready.cli import app
from digiready.course.items import graded_items, read_notebook
from digiready.course.paths import CourseLayout
from digiready.data.synthetic_cohort import cohort
from digiready.demo import DemoResult, run_demo
from digiready.grading.nbgrader_run import gradebook_url
from digiready.grading.sandbox import sandbox_problem
from digiready.reporting.cohort_scores import load_scores


@pytest.mark.slow
def test_course_check_is_clean() -> None:
    problems = check_course(REPO)
    assert problems == [], "\n".join(map(str, problems))


@pytest.fixture
def in_repo() -> Iterator[None]:
    here = Path.cwd()
    os.chdir(REPO.root)
    yield
    os.chdir(here)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo on a small synthetic cohort (4 students plus the two reference students)."""
    return run_demo(REPO, tmp_path_factory.mktemp("demo") / "demo-course", size=4, workers=2)


@pytest.mark.slow
def test_demo_grades_every_complete_module(demo: DemoResult) -> None:
    assert list(demo.outcomes) == COMPLETE_MODULES
    assert demo.sandbox_problem == sandbox_problem(), "the demo says whether it was sandboxed"
    for module, outcomes in demo.outcomes.items():
        by_id = {o.student: o for o in outcomes}
        assert len(by_id) == 6 and all(o.status == "graded" for o in outcomes), module
        solution, untouched = by_id["demo-solution"], by_id["demo-untouched"]
        assert solution.score == solution.max_score - _manual_points(module), module
        assert untouched.score == 0.0, module
        assert any(len(i) == 7 and i.startswith("00") for i in by_id), "ids keep leading zeros"


def _manual_points(module: str) -> float:
    notebook = read_notebook(REPO.module_notebook(REPO.source, module))
    return sum(item.points for item in graded_items(notebook) if item.kind == "manual")


@pytest.mark.slow
def test_demo_manual_marks_count_and_pending_ones_wait(demo: DemoResult) -> None:
    modules = list(demo.outcomes)
    scores = load_scores(gradebook_url(demo.root), CourseLayout(demo.root), modules)
    manual = scores[scores["kind"] == "manual"]
    assert manual["score"].notna().any(), "entered marks count"
    assert manual["score"].isna().any(), "unmarked reflections are pending, not 0"
    assert not manual.loc[manual["score"].notna() & manual["needs_manual_grade"]].size


@pytest.mark.slow
def test_demo_writes_report_and_exports(demo: DemoResult) -> None:
    html = demo.report.read_text(encoding="utf-8")
    for student in demo.outcomes["09-online-safeguarding"]:
        assert student.student in html
    with (demo.root / "exports" / "grades-canvas.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][0] == "Points Possible"
    assert {row[2] for row in rows[2:]} >= {"demo-solution", "demo-untouched"}
    # the synthetic cohort's late student (30 hours after the due date the demo sets)
    late = [s.student_id for s in cohort(4) if s.late]
    assert late and "submitted; late by 2 days" in html
    with (demo.root / "report" / "submissions.csv").open(encoding="utf-8", newline="") as f:
        statuses = {(row["student"], row["status"]) for row in csv.DictReader(f)}
    assert {(late[0], "submitted; late by 2 days")} <= statuses
    assert "09-online-safeguarding (deadline)" in rows[0]


@pytest.mark.slow
@pytest.mark.usefixtures("sandbox_available")
def test_cli_grade_report_export_on_the_demo_course(demo: DemoResult) -> None:
    here = Path.cwd()
    os.chdir(demo.root)
    try:
        runner = CliRunner()
        graded = runner.invoke(app, ["grade", "09-online-safeguarding", "--workers", "1"])
        report = runner.invoke(app, ["report", "--out", "report-again"])
        export = runner.invoke(app, ["export", "--format", "moodle", "--out", "m.csv"])
    finally:
        os.chdir(here)
    assert graded.exit_code == 0, graded.output
    assert "0 graded, 6 unchanged (skipped), 0 flagged" in graded.output
    assert "recorded as 0" not in graded.output  # said only when a 0 was recorded
    assert report.exit_code == 0 and (demo.root / "report-again" / "report.html").is_file()
    assert export.exit_code == 0, export.output
    header = (demo.root / "m.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith('"ID number"')


def test_cli_check_without_sync(in_repo: None) -> None:
    result = CliRunner().invoke(app, ["check", "--no-sync"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_cli_outside_a_course_says_where(tmp_path: Path) -> None:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["check"])
    finally:
        os.chdir(here)
    assert result.exit_code == 2
    assert "run digiready in the course root" in result.output
