"""nbgrader's autograde with the repeated work removed (`digiready.grading.nbgrader_speed`)
grades exactly as nbgrader does, with fewer commits and lookups."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.converters import Autograde
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, OverwriteCells, SaveAutoGrades
from sqlalchemy import event
from sqlalchemy.engine import Engine

from conftest import FIXTURE, graded_cell
from digiready.course.paths import CourseLayout
from digiready.grading import nbgrader_speed
from digiready.grading.autograde import prepare_course, submit
from digiready.grading.cohort_grading import autograded_dir
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, gradebook_url, run_converter
from digiready.reporting.cohort_scores import load_scores

STUDENTS = ("001", "002")
TEST_CELL = "m99_q1_1_test"


@contextmanager
def _counted_commits() -> Iterator[list[int]]:
    """How many transactions every engine commits while the block runs."""
    count = [0]

    def commit(connection: object) -> None:
        count[0] += 1

    event.listen(Engine, "commit", commit)
    try:
        yield count
    finally:
        event.remove(Engine, "commit", commit)


def _grade(layout: CourseLayout, root: Path, tampered: Path, fast: bool) -> int:
    """Autograde both students (each with the fixture's test cell rewritten to pass) in this
    process with nbgrader's pipeline or the faster one; the commits it took."""
    prepare_course(layout, [FIXTURE], root)
    for student in STUDENTS:
        submit(root, FIXTURE, student, tampered)
    config = course_config(root / CONFIG_FILE, root)
    converter = Autograde
    if fast:
        config, converter = nbgrader_speed.configure(config), nbgrader_speed.InMemoryAutograde
    with _counted_commits() as commits:
        for student in STUDENTS:
            run_converter(converter, config, FIXTURE, student)
    return commits[0]


def _shown(root: Path, student: str) -> list[tuple[str, str, list[str]]]:
    """Each cell of a graded notebook: its type, source and the text of its outputs."""
    graded = nbformat.read(autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb", 4)
    return [(cell.cell_type, cell.source,
             [str(output.get("text", output.get("data", {}).get("text/plain", "")))
              for output in cell.get("outputs", [])])
            for cell in graded.cells]


def test_the_faster_steps_grade_as_nbgrader_does_with_fewer_commits(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    """Two students in one process (the second reads the module's cells from the cache): the
    rewritten test cell is put back for both, the graded notebooks (kept in memory between the
    two passes) and the scores are nbgrader's, and SaveAutoGrades commits once per notebook
    instead of once per grade and comment."""
    layout = built_fixture_course
    notebook = nbformat.read(layout.module_notebook(layout.solutions, FIXTURE), as_version=4)
    original = graded_cell(notebook, TEST_CELL).source
    graded_cell(notebook, TEST_CELL).source = "pass  # tests removed"
    tampered = tmp_path / "tampered.ipynb"
    nbformat.write(notebook, tampered)
    plain_commits = _grade(layout, tmp_path / "plain", tampered, fast=False)
    fast_commits = _grade(layout, tmp_path / "fast", tampered, fast=True)
    scores = [load_scores(gradebook_url(tmp_path / side), layout, [FIXTURE])
              for side in ("plain", "fast")]
    assert scores[0][["student", "grade_id", "score"]].equals(
        scores[1][["student", "grade_id", "score"]])
    assert len(scores[1]) == len(STUDENTS) * 3
    for student in STUDENTS:
        graded = nbformat.read(
            autograded_dir(tmp_path / "fast", FIXTURE, student) / f"{FIXTURE}.ipynb", 4)
        assert graded_cell(graded, TEST_CELL).source == original
        shown = _shown(tmp_path / "fast", student)
        assert shown == _shown(tmp_path / "plain", student)
        assert any(outputs for _, _, outputs in shown)  # the cells ran
    answers_and_tests = sum(1 for cell in notebook.cells if "nbgrader" in cell.metadata
                            and (cell.metadata.nbgrader.get("grade")
                                 or cell.metadata.nbgrader.get("solution")))
    assert answers_and_tests >= 4
    assert plain_commits - fast_commits >= len(STUDENTS) * (answers_and_tests - 1)


def test_the_faster_steps_replace_nbgrader_s_by_class_or_by_name() -> None:
    steps = [CheckCellMetadata, "nbgrader.preprocessors.OverwriteCells", SaveAutoGrades,
             "nbgrader.preprocessors.ClearOutput", OverwriteCells]
    assert nbgrader_speed.faster(steps) == [
        nbgrader_speed.CachedCheckCellMetadata, nbgrader_speed.CachedOverwriteCells,
        nbgrader_speed.OneCommitSaveAutoGrades, "nbgrader.preprocessors.ClearOutput",
        nbgrader_speed.CachedOverwriteCells]


SHARED_ENGINES = """
import sys
from nbgrader.api import Gradebook
from sqlalchemy import event
from sqlalchemy.engine import Engine
from digiready.grading import nbgrader_speed

nbgrader_speed.share_engines()
statements = []
event.listen(Engine, "before_cursor_execute", lambda *args: statements.append(1))
counts = []
for url in sys.argv[1:]:
    before = len(statements)
    with Gradebook(url) as gradebook:
        gradebook.add_student("s" + str(len(counts)))
        gradebook.db.commit()
    counts.append(len(statements) - before)
print(*counts)
"""


def test_a_worker_checks_each_gradebook_s_tables_once(tmp_path: Path) -> None:
    """In a worker (`share_engines`), a gradebook's tables are listed and made the first time
    only; a second database gets its own tables all the same."""
    first, second = (f"sqlite:///{tmp_path / name}.db" for name in ("one", "two"))
    run = subprocess.run([sys.executable, "-c", SHARED_ENGINES, first, first, first, second],
                         capture_output=True, text=True, check=True)
    counts = [int(count) for count in run.stdout.split()]
    assert counts[0] > 20 and counts[3] > 20, counts  # tables made (and the course row added)
    assert counts[1] == counts[2] <= 2, counts  # afterwards: the insert (and its id) only


OUTPUT_CHECKS = """
import json, sys
import nbformat
from nbformat.v4 import new_output
from digiready.grading import nbgrader_speed

def made(kind, **fields):
    try:
        return json.dumps(new_output(kind, **fields))
    except nbformat.ValidationError as error:
        return "invalid: " + error.message

cases = [("stream", {"name": "stdout", "text": "hi"}), ("stream", {"name": 5, "text": "x"}),
         ("display_data", {"data": {"text/plain": "t"}}),
         ("execute_result", {"data": {"text/plain": 1}}),
         ("error", {"ename": "E", "evalue": "v", "traceback": ["a"]})]
before = [made(kind, **fields) for kind, fields in cases]
nbgrader_speed.fast_output_checks()
print(json.dumps([before, [made(kind, **fields) for kind, fields in cases]]))
"""


def test_outputs_are_checked_as_nbformat_checks_them() -> None:
    """With the compiled checks (`fast_output_checks`), nbformat's `new_output` makes the same
    outputs, and rejects the same invalid ones with nbformat's own error."""
    run = subprocess.run([sys.executable, "-c", OUTPUT_CHECKS], capture_output=True, text=True,
                         check=True)
    before, after = json.loads(run.stdout)
    assert after == before
    assert sum(made.startswith("invalid: ") for made in after) == 2, after


def _verdict(validator: Any, meta: dict[str, Any]) -> str:
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": meta})
    try:
        validator.validate_cell(cell)
    except Exception as error:  # nbgrader's and jsonschema's errors alike
        return f"{type(error).__name__}: {error}"
    return "valid"


def test_cell_metadata_is_checked_as_nbgrader_checks_it() -> None:
    """The compiled schema check (`CachedCheckCellMetadata`'s) accepts and rejects the cells
    nbgrader's own validator does, with the same error."""
    good = {"schema_version": 3, "grade": True, "solution": False, "locked": True,
            "grade_id": "q1", "points": 2, "task": False}
    cells = [good, {**good, "points": "two"}, {**good, "grade_id": 7},
             {**good, "unexpected": 1}, {k: v for k, v in good.items() if k != "locked"},
             {**good, "grade": False, "solution": False, "locked": False}]
    verdicts = [_verdict(MetadataValidator(), meta) for meta in cells]
    assert [_verdict(nbgrader_speed._validator(), meta) for meta in cells] == verdicts
    assert verdicts[0] == "valid"
    assert sum(verdict != "valid" for verdict in verdicts) >= 3, verdicts
