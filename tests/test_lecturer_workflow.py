"""A lecturer's workflow through the `digiready` command line that never loses a student:
the class list in the gradebook, everyone in the report and exports (with "no submission"),
the Canvas round trip, one-line errors (never a traceback), one gradebook, and no student data
landing in git. Grading itself is simulated by writing marks into nbgrader's gradebook with
nbgrader's API (the grading path has its own tests), so these run in seconds."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import (
    CANVAS_HEADER,
    FIXTURE,
    REPO,
    full_marks,
    lecturer,
    read_rows,
    record_fixture_marks,
    write_rows,
)
from digiready.course.paths import CourseLayout
from digiready.grading import course_gradebook
from digiready.grading.gradebook_records import record_ungradable
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, gradebook_url
from digiready.lms import roster

NOTEBOOK = f"{FIXTURE}.ipynb"
WORKSHEET = [
    ["Identifier", "Full name", "Email address", "ID number", "Status"],
    ["Participant 101", "Zoë Ní Bhriain", "zoe@example.ac.uk", "0012345", "Submitted"],
    ["Participant 102", "Jane Smith", "jane@example.ac.uk", "0023456", "Submitted"],
    ["Participant 103", "Amy Lee", "amy@example.ac.uk", "0034567", "Submitted"],
    ["Participant 104", "Sam Taylor", "sam@example.ac.uk", "0045678", "No submission"],
]


@pytest.fixture
def course(fixture_course: CourseLayout, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixture course as the working directory, with no DIGIREADY_DB_URL set."""
    monkeypatch.delenv(course_gradebook.ENVIRONMENT, raising=False)
    monkeypatch.chdir(fixture_course.root)
    yield fixture_course.root


def notebook(text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    return nbformat.writes(nb).encode()


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


# ------------------------------------------------------------------ no student disappears


def test_every_student_on_the_class_list_reaches_the_report_and_exports(
    course: Path, tmp_path: Path
) -> None:
    prefix = "{}_{}_assignsubmission_file/"
    archive = make_zip(
        tmp_path / "moodle.zip",
        {
            prefix.format("Zoë Ní Bhriain", 101) + NOTEBOOK: notebook("Zoë"),
            prefix.format("Jane Smith", 102) + "essay.docx": b"PK\x03\x04",
            prefix.format("Amy Lee", 103) + "amy_lee_final_version.ipynb": notebook("Amy"),
        },
    )
    worksheet = write_rows(tmp_path / "worksheet.csv", WORKSHEET)

    imported = lecturer("import-lms", str(archive), "--module", FIXTURE,
                        "--class-list", str(worksheet))

    assert imported.exit_code == 3, imported.output  # imported, with one student's problem
    assert "0023456: not a notebook: essay.docx" in imported.output
    assert "no submission in the zip from 1 student(s)" in imported.output
    assert "  0045678" in imported.output
    amy = course / "submitted" / "0034567" / FIXTURE / "amy_lee_final_version.ipynb"
    assert amy.is_file(), "a lone notebook of any name is imported, to be graded and flagged"
    with Gradebook(gradebook_url(course)) as gradebook:
        names = {s.id: (s.first_name, s.last_name, s.email) for s in gradebook.students}
    assert names["0045678"] == ("Sam", "Taylor", "sam@example.ac.uk")
    assert set(names) == {"0012345", "0023456", "0034567", "0045678"}

    # what grading records: marks for the two notebooks, 0 and a flag for the essay
    record_fixture_marks(course, {"0012345": full_marks(4),
                          "0034567": {"m99_q1_1_test": 0, "m99_q1_2_test": 1,
                                      "m99_reflection": 1},
                          "0023456": {}})
    record_ungradable(course, FIXTURE, "0023456",
                      "not imported from the LMS: not a notebook: essay.docx")

    report = lecturer("report", "--cohort", "BA Social Work 2026")
    assert report.exit_code == 0, report.output
    html = (course / "report" / "report.html").read_text(encoding="utf-8")
    for student_id, name in (("0012345", "Zoë Ní Bhriain"), ("0045678", "Sam Taylor")):
        assert f"{student_id} {name}" in html
    # one item a level in the fixture module: no level can be claimed, so nobody is ready yet
    assert "BA Social Work 2026" in html and "0 of 4 students are ready" in html
    submissions = {(r["student"], r["status"]) for r in read_rows(course / "report" /
                                                                  "submissions.csv")}
    assert submissions == {
        ("0023456", "not imported from the LMS: not a notebook: essay.docx"),
        ("0045678", "no submission"),
    }
    assert [r["student"] for r in read_rows(course / "report" / "readiness.csv")] == [
        "0012345", "0023456", "0034567", "0045678"
    ]

    exported = lecturer("export", "--format", "csv", "--out", "exports/grades.csv")
    assert exported.exit_code == 0, exported.output
    rows = {r["student_id"]: r for r in read_rows(course / "exports" / "grades.csv")}
    assert list(rows) == ["0012345", "0023456", "0034567", "0045678"]
    assert rows["0045678"][f"{FIXTURE} (status)"] == "no submission"
    assert rows["0045678"]["name"] == "Sam Taylor"
    assert rows["0023456"][f"{FIXTURE} (status)"].endswith("not a notebook: essay.docx")
    moodle = lecturer("export", "--format", "moodle", "--out", "exports/moodle.csv")
    assert moodle.exit_code == 0, moodle.output
    by_id = {r["ID number"]: r for r in read_rows(course / "exports" / "moodle.csv")}
    assert by_id["0045678"][f"{FIXTURE} (out of 9)"] == "-"


def test_canvas_ids_go_back_into_the_column_canvas_matches_on(
    course: Path, tmp_path: Path
) -> None:
    """Without a class list the zip's Canvas user ids are the student ids: they go back in
    `ID`, not `SIS User ID`. With Canvas's gradebook export as class list, `ID` is the Canvas
    user id and `SIS User ID` the student id."""
    archive = make_zip(tmp_path / "c.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook("J")})
    assert lecturer("import-lms", str(archive), "--module", FIXTURE).exit_code == 0
    record_fixture_marks(course, {"12345": full_marks(4)})
    assert lecturer("export", "--format", "canvas", "--out", "c1.csv").exit_code == 0
    rows = list(csv.reader((course / "c1.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[2][1:3] == ["12345", ""]

    other = tmp_path / "other"
    shutil.copytree(course, other, ignore=shutil.ignore_patterns("submitted", "gradebook*",
                                                                  "c1.csv"))
    gradebook_csv = write_rows(tmp_path / "canvas-gradebook.csv", [
        *CANVAS_HEADER,
        ["Smith, Jane", "12345", "0023456", "jsmith", "SW101"],
    ])
    import os

    os.chdir(other)
    assert lecturer("import-lms", str(archive), "--module", FIXTURE, "--class-list",
                    str(gradebook_csv)).exit_code == 0
    record_fixture_marks(other, {"0023456": full_marks(4)})
    assert lecturer("export", "--format", "canvas", "--out", "c2.csv").exit_code == 0
    rows = list(csv.reader((other / "c2.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[2][:3] == ["Smith, Jane", "12345", "0023456"]


def test_class_list_command_records_names(course: Path, tmp_path: Path) -> None:
    plain = write_rows(tmp_path / "class-list.csv", [
        ["student_id", "name", "email"],
        ["0012345", "Zoë Ní Bhriain", "zoe@example.ac.uk"],
        ["+HYPERLINK(1)", "Odd Id", "odd@example.ac.uk"],
    ])
    result = lecturer("class-list", str(plain))
    assert result.exit_code == 0 and "recorded 2 student(s)" in result.output
    with Gradebook(gradebook_url(course)) as gradebook:
        assert gradebook.find_student("0012345").last_name == "Ní Bhriain"


def test_a_module_not_set_yet_lists_nobody_as_missing(course: Path, tmp_path: Path) -> None:
    """Before a module has a due date or any submission, nobody is 'no submission' for it;
    once one student hands in, everyone on the class list is accounted for."""
    lecturer("class-list", str(write_rows(tmp_path / "class-list.csv", [
        ["student_id", "name", "email"],
        ["0012345", "Zoë Ní Bhriain", "zoe@example.ac.uk"],
        ["0023456", "Jane Smith", "jane@example.ac.uk"],
    ])))
    assert roster.submission_status(gradebook_url(course), course, [FIXTURE]).empty
    (course / "submitted" / "0012345" / FIXTURE).mkdir(parents=True)
    statuses = roster.submission_status(gradebook_url(course), course, [FIXTURE])
    assert dict(zip(statuses["student"], statuses["status"], strict=True)) == {
        "0012345": roster.NOT_GRADED_YET, "0023456": roster.NO_SUBMISSION}


# ------------------------------------------------------------------ clear errors


def _junk_gradebook(root: Path) -> None:
    (root / "gradebook.db").write_bytes(b"this is not an SQLite database\n" * 200)


def _a_submission(root: Path) -> None:
    folder = root / "submitted" / "s1" / FIXTURE
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(notebook("s1"))


@pytest.mark.parametrize(
    ("setup", "args", "code", "says"),
    [
        (None, ["grade", "99-fixtur"], 2, "'99-fixtur' is not a module: use one of 99-fixture"),
        (None, ["grade", "09-online-safeguarding"], 2, "is planned, not complete"),
        (None, ["export", "--module", "99-nowhere"], 2, "use one of 99-fixture"),
        (None, ["report", "--pathway", "nursing"], 2,
         "'nursing' is not a pathway: use one of qualifying, nqsw-refresher, cpd"),
        (None, ["report"], 1, "no grades yet"),
        (None, ["report", "--templates", "nowhere"], 2, "nowhere is not a folder"),
        (None, ["export", "--format", "moodle"], 1, "no grades yet"),
        ("class-list", ["export", "--module", FIXTURE], 1,
         f"no grades to export for {FIXTURE}: run `digiready grade {FIXTURE}` first"),
        ("corrupt", ["report"], 1, "is corrupt"),
        ("corrupt", ["export"], 1, "is corrupt"),
        ("corrupt+submission", ["grade", FIXTURE, "--force"], 1, "is corrupt"),
        ("submission", ["grade", FIXTURE, "--student", "s2"], 2,
         "no submission from student 's2'"),
    ],
)
def test_bad_input_gets_one_line_and_a_non_zero_exit(
    course: Path, tmp_path: Path, setup: str | None, args: list[str], code: int, says: str
) -> None:
    if setup == "class-list":
        write_rows(tmp_path / "c.csv", [["student_id", "name"], ["0012345", "Zoë"]])
        assert lecturer("class-list", str(tmp_path / "c.csv")).exit_code == 0
    if setup and "corrupt" in setup:
        _junk_gradebook(course)
    if setup and "submission" in setup:
        _a_submission(course)
    before = (course / "gradebook.db").read_bytes() if (course / "gradebook.db").exists() else None

    result = lecturer(*args)

    assert result.exit_code == code, result.output
    assert says in " ".join(result.output.split()), result.output
    after = (course / "gradebook.db").read_bytes() if (course / "gradebook.db").exists() else None
    assert after == before, "no gradebook created or changed"
    assert not (course / "gradebook-backups").exists(), "a corrupt gradebook is never backed up"


def test_unknown_module_on_import_writes_nothing(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "c.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook("J")})
    result = lecturer("import-lms", str(archive), "--module", "99-fixtures")
    assert result.exit_code == 2
    assert "use one of 99-fixture" in result.output
    assert not (course / "submitted").exists() and not (course / "gradebook.db").exists()


def test_report_templates_of_your_own(course: Path) -> None:
    """--templates: a file there replaces the built-in one of its name; a broken template is one
    line naming it, and no report is written."""
    record_fixture_marks(course, {"s1": full_marks(4)})
    own = course / "report_templates"
    own.mkdir()
    (own / "report.css").write_text("body { font-family: Georgia, serif; }\n", encoding="utf-8")

    assert lecturer("report", "--templates", "report_templates").exit_code == 0
    for page in (course / "report" / "report.html", course / "report" / "students" / "s1.html"):
        assert "font-family: Georgia, serif;" in page.read_text(encoding="utf-8"), page

    shutil.rmtree(course / "report")
    (own / "student.html").write_text(
        '{% extends "base.html" %}{% block main %}{{ studnet }}{% endblock %}', encoding="utf-8"
    )
    result = lecturer("report", "--templates", "report_templates")
    assert result.exit_code == 1
    assert "a report template could not be used: student.html: 'studnet' is undefined" in " ".join(
        result.output.split()
    )
    assert not (course / "report").exists()


def test_a_locked_gradebook_is_named_not_a_traceback(
    course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_fixture_marks(course, {"s1": full_marks(4)})
    monkeypatch.setattr(course_gradebook, "CHECK_WAIT_SECONDS", 0.2)
    holder = sqlite3.connect(course / "gradebook.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = lecturer("report")
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 1
    assert "is locked by another program" in " ".join(result.output.split())


# ------------------------------------------------------------------ one gradebook


def test_every_command_uses_the_gradebook_the_nbgrader_config_names(
    course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "shared" / "gradebook.db"
    elsewhere.parent.mkdir()
    monkeypatch.setenv(course_gradebook.ENVIRONMENT, f"sqlite:///{elsewhere}")

    assert gradebook_url(course).startswith(f"sqlite:///{elsewhere}")
    config = course_config(course / CONFIG_FILE, course)
    assert config.CourseDirectory.db_url == gradebook_url(course)
    plain = write_rows(tmp_path / "c.csv", [["student_id", "name"], ["0012345", "Zoë Lee"]])
    assert lecturer("class-list", str(plain)).exit_code == 0
    assert elsewhere.is_file() and not (course / "gradebook.db").exists()


# ------------------------------------------------------------------ nothing private in git


def test_student_data_in_an_unignored_git_work_tree_is_warned_about(course: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(course)], check=True)
    record_fixture_marks(course, {"s1": full_marks(4)})

    warned = lecturer("report")
    assert warned.exit_code == 0
    assert "inside a git work tree that does not ignore it" in " ".join(warned.output.split())

    shutil.copy(REPO.root / ".gitignore", course / ".gitignore")
    quiet = lecturer("report")
    assert quiet.exit_code == 0 and "does not ignore" not in quiet.output
    exported = lecturer("export", "--format", "csv")
    assert exported.exit_code == 0 and "does not ignore" not in exported.output
