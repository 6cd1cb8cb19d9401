"""One student's corrupt, old-format or oversized notebook in a Moodle zip does not stop the
import: `digiready import-lms` imports everyone, says which had problems (exit code 3), and
`digiready grade` then grades the rest and records each problem as a flagged outcome."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from conftest import FIXTURE
from digiready.cli import app
from digiready.course.items import read_notebook
from digiready.course.paths import CourseLayout
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import grade_cohort, submission_dir
from digiready.lms import zip_import as lms_import

NOTEBOOK = f"{FIXTURE}.ipynb"
PEOPLE = {  # Moodle participant id: (name, student id)
    "111": ("Ada Good", "0010001"),
    "222": ("Ben Corrupt", "0010002"),
    "333": ("Cai Oldformat", "0010003"),
    "444": ("Dee Oversized", "0010004"),
}
CAP = 200_000


def moodle_zip(path: Path, notebooks: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for person, data in notebooks.items():
            name = PEOPLE[person][0]
            archive.writestr(f"{name}_{person}_assignsubmission_file/{NOTEBOOK}", data)
    return path


def class_list(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Identifier", "Full name", "ID number"])
        writer.writerows([f"Participant {p}", name, sid] for p, (name, sid) in PEOPLE.items())
    return path


@pytest.mark.slow
@pytest.mark.usefixtures("sandbox_available")
def test_bad_notebooks_are_imported_reported_and_graded_as_such(
    built_fixture_course: CourseLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    shutil.copy(built_fixture_course.curriculum, root / "course" / "curriculum.yml")
    solution = read_notebook(
        built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    )
    oversized = read_notebook(
        built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    )
    oversized.cells.append(nbformat.v4.new_markdown_cell("x" * (CAP + 1)))
    archive = moodle_zip(tmp_path / "download.zip", {
        "111": nbformat.writes(solution).encode(),
        "222": b'{"cells": [',
        "333": nbformat.writes(nbformat.convert(solution, 3), version=3).encode(),
        "444": nbformat.writes(oversized).encode(),
    })
    monkeypatch.setattr(lms_import, "MAX_NOTEBOOK_BYTES", CAP)
    monkeypatch.chdir(root)

    result = CliRunner().invoke(app, ["import-lms", str(archive), "--module", FIXTURE,
                                      "--class-list", str(class_list(tmp_path / "class.csv"))])

    assert result.exit_code == 3, result.output
    output = " ".join(result.output.split())
    assert "imported 3 notebook(s)" in output
    assert "0010002: " in output and "not a notebook (not JSON" in output
    assert "0010003: " in output and "format 3" in output
    assert "not imported 1 notebook(s)" in output and "0010004: " in output
    assert "larger than 200,000 bytes" in output
    for student in ("0010001", "0010002", "0010003"):
        assert (submission_dir(root, FIXTURE, student) / NOTEBOOK).is_file()

    outcomes = {o.student: o for o in grade_cohort(root, FIXTURE, workers=2)}

    assert (outcomes["0010001"].status, outcomes["0010001"].score, outcomes["0010001"].flags) \
        == ("graded", 5.0, ())
    assert (outcomes["0010003"].status, outcomes["0010003"].score) == ("graded", 5.0)
    assert any("notebook format 3" in flag for flag in outcomes["0010003"].flags)
    for student, reason in (("0010002", "not a readable notebook"),
                            ("0010004", "not imported from the LMS")):
        outcome = outcomes[student]
        assert (outcome.status, outcome.score, outcome.max_score) == ("failed", 0.0, 9.0)
        assert reason in outcome.reason and outcome.flagged, outcome
    assert "larger than 200,000 bytes" in outcomes["0010004"].reason
