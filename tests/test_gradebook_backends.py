"""PostgreSQL as the gradebook: the same cohort imported, graded with two workers, reported,
exported and given feedback through the `digiready` command line, against SQLite and against
a throwaway PostgreSQL server, gives the same results; the one-run-at-a-time lock works on both.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from conftest import CANVAS_HEADER, REPO, lecturer, read_rows, write_rows
from digiready.grading import course_gradebook
from digiready.grading.autograde import prepare_course
from digiready.grading.lock import grading_lock
from digiready.grading.nbgrader_run import gradebook_url
from postgres_harness import PostgresServer, need_postgres, postgres_server
from test_lecturer_workflow import make_zip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sandbox_available")]
MODULE = "09-online-safeguarding"
CANVAS_LIST = [
    *CANVAS_HEADER,
    ["Lee, Amy", "101", "0012345", "alee", "SW101"],
    ["Smith, Jane", "102", "0023456", "jsmith", "SW101"],
    ["Taylor, Sam", "103", "0034567", "staylor", "SW101"],
    ["Khan, Ali", "104", "0045678", "akhan", "SW101"],
]


def _partly_right() -> bytes:
    """Module 09's release with some answers typed in, right and wrong."""
    notebook = nbformat.read(REPO.module_notebook(REPO.release, MODULE), as_version=4)
    answers = {"answer_4_2": '["c", "d", "e", "b", "a"]', "answer_3_2": '"c"',
               "answer_2_1": '"a"', "answer_5_2": "7"}
    for cell in notebook.cells:
        for variable, value in answers.items():
            cell.source = cell.source.replace(f"{variable} = ...", f"{variable} = {value}")
    return nbformat.writes(notebook).encode()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    need_postgres()
    with postgres_server() as server:
        yield server


def _run_course(root: Path, tmp: Path) -> dict[str, object]:
    """Every lecturer's command on one cohort in course root `root`; what each produced."""
    prepare_course(REPO, [MODULE], root)
    shutil.copy(REPO.curriculum, root / "course" / REPO.curriculum.name)
    os.chdir(root)
    name = f"{MODULE}.ipynb"
    archive = make_zip(tmp / "canvas.zip", {
        f"leeamy_101_1_{name}": REPO.module_notebook(REPO.solutions, MODULE).read_bytes(),
        f"smithjane_102_1_{name}": _partly_right(),
        f"taylorsam_103_1_{name}": REPO.module_notebook(REPO.release, MODULE).read_bytes(),
    })
    class_list = write_rows(tmp / "canvas-gradebook.csv", CANVAS_LIST)
    outputs: dict[str, object] = {}
    for command in (
        ("import-lms", str(archive), "--module", MODULE, "--class-list", str(class_list)),
        ("grade", MODULE, "--workers", "2"),
        ("report", "--cohort", "Backends"),
        ("export", "--format", "csv", "--out", "exports/grades.csv"),
        ("export", "--format", "moodle", "--out", "exports/moodle.csv"),
        ("export", "--format", "canvas", "--out", "exports/canvas.csv"),
        ("feedback", MODULE, "--allow-pending"),
    ):
        result = lecturer(*command)
        assert result.exit_code == 0, (command, result.output)
        outputs[command[0] + ":exit"] = result.exit_code
    for table in ("report/readiness.csv", "report/submissions.csv", "exports/grades.csv",
                  "exports/moodle.csv", "exports/canvas.csv"):
        outputs[table] = read_rows(root / table)
    outputs["feedback"] = sorted(
        str(path.relative_to(root / "feedback")) for path in (root / "feedback").rglob("*.html")
    )
    return outputs


@pytest.fixture(scope="module")
def both(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, dict[str, object]]]:
    """The same cohort run through every command on SQLite and on PostgreSQL."""
    here, saved = Path.cwd(), os.environ.pop(course_gradebook.ENVIRONMENT, None)
    results = {}
    try:
        results["sqlite"] = _run_course(
            tmp_path_factory.mktemp("sqlite") / "course", tmp_path_factory.mktemp("sqlite-in")
        )
        os.environ[course_gradebook.ENVIRONMENT] = postgres.create_database("cohort")
        results["postgresql"] = _run_course(
            tmp_path_factory.mktemp("pg") / "course", tmp_path_factory.mktemp("pg-in")
        )
        yield results
    finally:
        os.chdir(here)
        os.environ.pop(course_gradebook.ENVIRONMENT, None)
        if saved is not None:
            os.environ[course_gradebook.ENVIRONMENT] = saved


def test_every_command_gives_the_same_results_on_both(
    both: dict[str, dict[str, object]],
) -> None:
    assert both["postgresql"] == both["sqlite"]
    rows = both["postgresql"]["exports/grades.csv"]
    assert isinstance(rows, list)
    grades = {row["student_id"]: row for row in rows}
    assert set(grades) == {"0012345", "0023456", "0034567", "0045678"}

    def automatic(student: str) -> float:
        row = grades[student]
        return sum(float(row[k]) for k in row if k.startswith(f"{MODULE}/") and "test" in k)

    assert automatic("0012345") > automatic("0023456") > automatic("0034567") == 0.0
    assert grades["0045678"][f"{MODULE} (status)"] == "no submission"
    assert both["postgresql"]["feedback"] == [
        f"{student}/{MODULE}/{MODULE}.html" for student in ("0012345", "0023456", "0034567")
    ]


def test_an_empty_postgresql_gradebook_is_no_grades_yet(
    postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = postgres.create_database("empty").replace("+psycopg", "")  # SQLAlchemy 2.1: psycopg
    monkeypatch.setenv(course_gradebook.ENVIRONMENT, plain)
    shutil.copy(REPO.root / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    with pytest.raises(course_gradebook.GradebookProblem, match="no grades yet: the gradebook"):
        course_gradebook.require_gradebook(tmp_path)
    monkeypatch.setenv(course_gradebook.ENVIRONMENT, postgres.url("missing"))
    with pytest.raises(course_gradebook.GradebookProblem, match="cannot be used .*missing"):
        course_gradebook.check_gradebook(tmp_path)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_second_grading_run_waits_and_is_told_who_holds_the_lock(
    backend: str, postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(REPO.root / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    if backend == "postgresql":
        monkeypatch.setenv(course_gradebook.ENVIRONMENT, postgres.create_database("locks"))
    else:
        monkeypatch.delenv(course_gradebook.ENVIRONMENT, raising=False)
    assert gradebook_url(tmp_path).startswith(backend)
    told: list[int | None] = []
    order: list[str] = []

    def second() -> None:
        with grading_lock(tmp_path, told.append):
            order.append("second")

    with grading_lock(tmp_path):
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=3)
        assert waiting.is_alive(), "the second run must wait while the first holds the lock"
        order.append("first")
    waiting.join(timeout=30)
    assert order == ["first", "second"]
    assert told == [os.getpid()]
