"""Shared fixtures: the real course, and a small fixture course built on the fly."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from typer.testing import CliRunner, Result

from digiready.authoring import cells as a
from digiready.cli import app
from digiready.course.curriculum import Curriculum, load_curriculum
from digiready.course.paths import CourseLayout
from digiready.course.rubric import Criterion
from digiready.data.synthetic_cohort import SyntheticStudent, write_submissions
from digiready.grading.sandbox import sandbox_problem

REPO = CourseLayout(Path(__file__).resolve().parents[1])
FIXTURE = "99-fixture"
# The browser tests' Chromium (or Chrome), and where they saved their screenshots (for the
# end-of-run summary).
CHROMIUM = os.environ.get("DIGIREADY_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = pytest.StashKey[Path]()
CAPABILITY = "practice.online_safeguarding"
# The Statement's twelve capabilities, in curriculum order (pinned: the course must keep them).
STATEMENT_CAPABILITIES = [
    "purpose.professional_standards",
    "purpose.involvement_and_rights",
    "purpose.inclusion_and_anti_oppression",
    "purpose.relationship_based_practice",
    "purpose.online_support_groups",
    "practice.online_lives_and_technology_needs",
    "practice.digital_service_delivery",
    "practice.ethical_decision_making",
    "practice.online_safeguarding",
    "practice.law_and_regulation",
    "impact.leadership_and_advocacy",
    "impact.digital_professionalism",
]

HIDDEN_PRELUDE = "### BEGIN HIDDEN TESTS"
# The modules that are complete in the real curriculum: what every per-module test runs over.
COMPLETE_MODULES = [module.id for module in load_curriculum(REPO.curriculum).complete_modules]


# The fixture module's graded cells and their points (see fixture_cells).
# The two rows a Canvas gradebook export starts with (its class list for `import-lms`).
CANVAS_HEADER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"],
    ["    Points Possible", "", "", "", ""],
]
FIXTURE_ITEMS = {"m99_q1_1_test": 2.0, "m99_q1_2_test": 3.0, "m99_reflection": 4.0}


def full_marks(reflection: float) -> dict[str, float]:
    """Full automatic marks on the fixture's two questions, and these points for its reflection."""
    return {**FIXTURE_ITEMS, "m99_reflection": reflection}


def record_fixture_marks(
    root: Path,
    marks: dict[str, dict[str, float]],
    submitted: dict[str, datetime | None] | None = None,
) -> None:
    """What grading leaves in the gradebook: the fixture module, its graded cells, and a
    submission for each student (handed in at `submitted`'s time, when given) with these scores."""
    from nbgrader.api import Gradebook

    from digiready.grading.nbgrader_run import gradebook_url

    with Gradebook(gradebook_url(root)) as gradebook:
        gradebook.update_or_create_assignment(FIXTURE)
        if not gradebook.find_assignment(FIXTURE).notebooks:
            gradebook.add_notebook(FIXTURE, FIXTURE)
            for grade_id, points in FIXTURE_ITEMS.items():
                kind = "markdown" if grade_id.endswith("reflection") else "code"
                gradebook.add_grade_cell(grade_id, FIXTURE, FIXTURE, max_score=points,
                                         cell_type=kind)
                answer = grade_id.removesuffix("_test")  # comments hang on answer cells
                gradebook.add_solution_cell(answer, FIXTURE, FIXTURE)
        for student, scores in marks.items():
            gradebook.update_or_create_student(student)
            when = (submitted or {}).get(student)
            gradebook.update_or_create_submission(FIXTURE, student, timestamp=when)
            for grade_id, score in scores.items():
                grade = gradebook.find_grade(grade_id, FIXTURE, FIXTURE, student)
                if grade_id.endswith("reflection"):
                    grade.manual_score = score
                else:
                    grade.auto_score = score
                grade.needs_manual_grade = False
        gradebook.db.commit()


def lecturer(*args: str) -> Result:
    """Run a command as a lecturer would; it may fail, but never with a traceback."""
    result = CliRunner().invoke(app, list(args))
    unexpected = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not unexpected, f"{args}: {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    return result


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    """Write `rows` as a CSV file (as an LMS or a lecturer would) and return its path."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file digiready wrote, by column name."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def cell_index(notebook: Any, grade_id: str) -> int:
    """The position of the cell with nbgrader grade id `grade_id` (KeyError if none)."""
    for index, cell in enumerate(notebook["cells"]):
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(f"no cell with grade id {grade_id}")


def graded_cell(notebook: Any, grade_id: str) -> Any:
    """The cell with nbgrader grade id `grade_id` (KeyError if none)."""
    return notebook["cells"][cell_index(notebook, grade_id)]


FIXTURE_RUBRIC = (
    Criterion("Names one online risk", CAPABILITY, 2, "No risk named.", "A risk, vaguely.",
              "Unknown adults asking a child for photos."),
    Criterion("Names the law that applies", "practice.law_and_regulation", 2, "No law.",
              "'Safeguarding law'.", "s47 Children Act 1989."),
)


def fixture_cells() -> list[object]:
    """A tiny but complete module: one choice item, one choose-all item, one reflection."""
    return [
        a.text("title", "# Fixture module\n\nA module the tests build."),
        a.code("setup", "from digiready.student import check_letter, check_letters"),
        a.text("q1-1-prompt", "**Question 1.1** (2 points) Which letter? a) b) c)"),
        a.answer("m99_q1_1", '### BEGIN SOLUTION\nanswer_1_1 = "b"\n### END SOLUTION'),
        a.test(
            "m99_q1_1_test",
            '"""Checks Question 1.1."""\ncheck_letter(answer_1_1, "abc", "1.1")\n'
            f"{HIDDEN_PRELUDE}\nfrom digiready.marking import score_choice\n"
            'score_choice(answer_1_1, "b", 2)\n### END HIDDEN TESTS',
            2,
            CAPABILITY,
            1,
        ),
        a.text("q1-2-prompt", "**Question 1.2** (3 points) Which apply? a) b) c) d)"),
        a.answer("m99_q1_2", '### BEGIN SOLUTION\nanswer_1_2 = {"a", "c"}\n### END SOLUTION'),
        a.test(
            "m99_q1_2_test",
            '"""Checks Question 1.2."""\ncheck_letters(answer_1_2, "abcd", "1.2")\n'
            f"{HIDDEN_PRELUDE}\nfrom digiready.marking import score_choices\n"
            'score_choices(answer_1_2, {"a", "c"}, "abcd", 3)\n### END HIDDEN TESTS',
            3,
            CAPABILITY,
            2,
        ),
        a.text("reflection-prompt", "## Reflection\n\nWrite a short reflection."),
        a.written("m99_reflection", "Model answer: a thoughtful reflection.", 4, CAPABILITY, 3,
                  FIXTURE_RUBRIC),
    ]


def make_fixture_course(root: Path) -> CourseLayout:
    """A course root with the real config, the real curriculum plus the fixture module."""
    layout = CourseLayout(root)
    layout.source.mkdir(parents=True)
    shutil.copy(REPO.root / "nbgrader_config.py", root / "nbgrader_config.py")
    curriculum = yaml.safe_load(REPO.curriculum.read_text(encoding="utf-8"))
    for module in curriculum["modules"]:
        module["status"] = "planned"
    curriculum["modules"].append(
        {
            "id": FIXTURE,
            "title": "Fixture",
            "kind": "teaching",
            "minutes": 12,
            "status": "complete",
            "statement_section": "Practice",
            "capabilities": [CAPABILITY],
            "outcomes": ["one", "two", "three"],
            "pcf_domains": [],
            "hee_domains": [],
            "swe_standards": [],
            "jurisdiction": {"applies_in": "not-applicable"},
        }
    )
    layout.curriculum.write_text(yaml.safe_dump(curriculum, sort_keys=False), encoding="utf-8")
    write_fixture_notebook(layout, fixture_cells())
    return layout


def write_fixture_notebook(layout: CourseLayout, cells: list[object]) -> Path:
    path = layout.module_notebook(layout.source, FIXTURE)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(a.notebook(cells), path)
    return path


def write_synthetic(root: Path, module: str, students: list[SyntheticStudent]) -> None:
    """Submissions of the real module's release, answered as these synthetic students would."""
    write_submissions(
        root,
        module,
        REPO.module_notebook(REPO.release, module),
        REPO.module_notebook(REPO.solutions, module),
        students,
    )


@pytest.fixture(scope="session")
def sandbox_available() -> None:
    """Skip where no grading sandbox can be made (saying why), except in CI, where it fails."""
    problem = sandbox_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the sandboxed grading tests: {problem}")
    pytest.skip(problem)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, with how to fix it; None when they can."""
    if os.name != "posix":
        return "browser tests use POSIX process groups: run them on Linux or macOS"
    missing = [
        what
        for what, absent in (
            (f"Chromium (looked for {CHROMIUM!r})", shutil.which(CHROMIUM) is None),
            ("Playwright", importlib.util.find_spec("playwright") is None),
        )
        if absent
    ]
    if not missing:
        return None
    return (
        f"browser tests need {' and '.join(missing)}: install Chromium with "
        "`sudo apt-get install chromium` (or set DIGIREADY_CHROMIUM to a Chromium or Chrome "
        "executable) and Playwright with `pip install playwright` (or `pip install -e '.[test]'`); "
        "Playwright's own browser download (`playwright install`) is not needed"
    )


def need_browser() -> None:
    """Skip a browser test where Chromium or Playwright is missing (saying how to install them),
    except in CI, where that fails it."""
    reason = browser_missing()
    if reason and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is set: {reason}")
    if reason:
        pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--browser-screenshots",
        type=Path,
        default=None,
        help="folder for the browser tests' screenshots (default: under pytest's temporary folder)",
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    folder = config.stash.get(SCREENSHOTS, None)
    if folder is not None:
        terminalreporter.write_line(f"browser test screenshots: {folder}")


@pytest.fixture(scope="session")
def curriculum() -> Curriculum:
    """The real course's curriculum, read once for the session."""
    return load_curriculum(REPO.curriculum)


@pytest.fixture
def fixture_course(tmp_path: Path) -> CourseLayout:
    return make_fixture_course(tmp_path / "course-root")


@pytest.fixture(scope="session")
def built_fixture_course(tmp_path_factory: pytest.TempPathFactory) -> CourseLayout:
    """The fixture course with its release and solutions built once for the session."""
    from digiready.authoring.build import build

    layout = make_fixture_course(tmp_path_factory.mktemp("built") / "course-root")
    build(layout, [FIXTURE])
    return layout
