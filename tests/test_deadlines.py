"""Deadlines, late work and extensions through the `digiready` command line, on nbgrader's own
model: the due date is nbgrader's `Assignment.duedate` (naive UTC, entered in UK time), the
submission time its `SubmittedAssignment.timestamp` (timestamp.txt, or Moodle's grading
worksheet), the extension its `SubmittedAssignment.extension`, and the penalty its
`late_submission_penalty`, set by `AssignLatePenalties` with digiready's `UKLatePolicy`.

Most tests simulate grading by writing marks with nbgrader's API, as test_lecturer_workflow
does; one grades through `digiready grade` in the sandbox (slow)."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from typer.testing import Result

from conftest import (
    FIXTURE,
    full_marks,
    lecturer,
    read_rows,
    record_fixture_marks,
    write_rows,
)
from digiready.course.paths import CourseLayout
from digiready.grading import course_gradebook
from digiready.grading.autograde import prepare_course, submit
from digiready.grading.late_policy import late_penalty
from digiready.grading.nbgrader_run import gradebook_url

NOTEBOOK = f"{FIXTURE}.ipynb"
DUE = datetime(2026, 12, 4, 17, 0)  # UK time in December is GMT, so this is UTC too
ON_TIME, LATE, EXTENDED, CANVAS, ABSENT = "0012345", "0023456", "0034567", "0045678", "0056789"
UNTIMED = "0067890"
CLASS_LIST = [["student_id", "name"], [ON_TIME, "Zoë Ní Bhriain"], [LATE, "Jane Smith"],
              [EXTENDED, "Amy Lee"], [CANVAS, "Sam Taylor"], [ABSENT, "Ola Nowak"]]


def said(result: Result) -> str:
    return " ".join(result.output.split())


def set_policy(root: Path, policy: str) -> None:
    """The course's nbgrader_config.py with this late policy."""
    config = root / "nbgrader_config.py"
    text = re.sub(r'c\.UKLatePolicy\.policy = "\w+"', f'c.UKLatePolicy.policy = "{policy}"',
                  config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")


@pytest.fixture
def course(fixture_course: CourseLayout, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixture course as the working directory, with its class list recorded."""
    monkeypatch.delenv(course_gradebook.ENVIRONMENT, raising=False)
    monkeypatch.chdir(fixture_course.root)
    assert lecturer("class-list", str(write_rows(fixture_course.root / "class-list.csv",
                                                 CLASS_LIST))).exit_code == 0
    yield fixture_course.root


def submission(root: Path, student: str) -> tuple[timedelta | None, float | None]:
    """nbgrader's extension and late penalty for the student's submission."""
    with Gradebook(gradebook_url(root)) as gradebook:
        found = gradebook.find_submission(FIXTURE, student)
        return found.extension, found.notebooks[0].late_submission_penalty


# ------------------------------------------------------------------ the policy


@pytest.mark.parametrize(
    ("policy", "hours_late", "max_days", "penalty"),
    [
        ("none", 30, 0, None),
        ("cap", 0, 0, None),  # on time: no penalty whatever the policy
        ("cap", 30, 0, 3.0),  # 7 of 10 capped at 40%
        ("cap", 30, 1, 7.0),  # more than max_days late: 0
        ("per_day", 1, 0, 0.5),  # part of a day is a day: 5% of 10
        ("per_day", 30, 0, 1.0),  # two days
        ("per_day", 24 * 20, 0, 7.0),  # never more than the score
    ],
)
def test_uk_policy_penalties(policy: str, hours_late: int, max_days: int,
                             penalty: float | None) -> None:
    assert late_penalty(policy, 7.0, 10.0, hours_late * 3600, max_days=max_days) == penalty


# ------------------------------------------------------------------ due dates


def test_a_due_date_is_nbgrader_s_stored_in_utc_and_shown_in_uk_time(course: Path) -> None:
    summer = lecturer("deadline", FIXTURE, "2026-06-15T17:00")
    assert summer.exit_code == 0, summer.output
    assert "due Monday 15 June 2026, 17:00 BST" in said(summer)
    assert "nbgrader's gradebook holds 2026-06-15 16:00 UTC" in said(summer)
    with Gradebook(gradebook_url(course)) as gradebook:
        assert gradebook.find_assignment(FIXTURE).duedate == datetime(2026, 6, 15, 16, 0)

    assert lecturer("deadline", FIXTURE, "2026-12-04T17:00").exit_code == 0
    listed = lecturer("deadline")
    assert said(listed) == f"{FIXTURE}: due Friday 4 December 2026, 17:00 GMT"
    with Gradebook(gradebook_url(course)) as gradebook:
        assert gradebook.find_assignment(FIXTURE).duedate == DUE
    assert lecturer("deadline", FIXTURE, "none").exit_code == 0
    assert said(lecturer("deadline")) == f"{FIXTURE}: no due date"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([FIXTURE, "14/12/2026 17:00"], "'14/12/2026 17:00' is not a date and time such as "
                                        "2026-12-14T17:00; nothing changed"),
        ([FIXTURE, "2026-12-14"], "'2026-12-14' has no time of day: give one, such as "
                                  "2026-12-14T17:00"),
        (["99-fixtur", "2026-12-14T17:00"], "'99-fixtur' is not a module: use one of 99-fixture"),
    ],
)
def test_a_bad_due_date_is_one_line_and_changes_nothing(
    course: Path, args: list[str], says: str
) -> None:
    before = (course / "gradebook.db").read_bytes()
    result = lecturer("deadline", *args)
    assert result.exit_code == 2
    assert says in said(result) and len(result.output.strip().splitlines()) == 1
    assert (course / "gradebook.db").read_bytes() == before


# ------------------------------------------------------------------ extensions


def test_extensions_are_all_or_nothing_and_become_nbgrader_s(course: Path) -> None:
    record_fixture_marks(course, {LATE: full_marks(4)}, {LATE: DUE + timedelta(hours=30)})
    assert lecturer("deadline", FIXTURE, "2026-12-04T17:00").exit_code == 0
    bad = write_rows(course / "ext.csv", [
        ["student_id", "module", "new_due", "extra_days"],
        [LATE, FIXTURE, "2026-12-09T17:00", ""],
        ["0099999", FIXTURE, "", "2"],
        [EXTENDED, "00-self-audit", "", "2"],
        [EXTENDED, FIXTURE, "next week", ""],
        [ON_TIME, FIXTURE, "2026-12-01T17:00", ""],
        [CANVAS, FIXTURE, "2026-12-09T17:00", "2"],
        [LATE, FIXTURE, "", "3"],
    ])
    refused = lecturer("extensions", str(bad))
    assert refused.exit_code == 1
    lines = refused.output.strip().splitlines()
    assert lines == [
        f"{bad} row 3: student '0099999' is not on the class list (record it with "
        "`digiready class-list`)",
        f"{bad} row 4: '00-self-audit' is not a module: use one of {FIXTURE}",
        f"{bad} row 5: new_due 'next week' is not a date and time such as 2026-12-14T17:00",
        f"{bad} row 6: new_due '2026-12-01T17:00' is not after the due date, Friday 4 December "
        "2026, 17:00 GMT",
        f"{bad} row 7: give new_due or extra_days (one of them)",
        f"{bad} row 8: a second extension for {LATE} on {FIXTURE}",
        f"{bad}: nothing recorded (6 problem(s))",
    ]
    assert not (course / "extensions-granted.csv").exists()
    assert submission(course, LATE)[0] is None

    good = write_rows(course / "ext.csv", [
        ["student_id", "module", "new_due", "extra_days"],
        [LATE, FIXTURE, "2026-12-09T17:00", ""],
        [EXTENDED, FIXTURE, "", "2"],
    ])
    granted = lecturer("extensions", str(good))
    assert granted.exit_code == 0, granted.output
    assert "recorded 2 extension(s)" in said(granted)
    assert submission(course, LATE)[0] == timedelta(days=5), "nbgrader's own extension"
    listed = lecturer("extensions")
    assert f"{LATE} on {FIXTURE}: to Wednesday 9 December 2026, 17:00 GMT" in said(listed)
    assert f"{EXTENDED} on {FIXTURE}: 2 extra day(s), to Sunday 6 December 2026" in said(listed)

    back = write_rows(course / "ext.csv", [["student_id", "module", "extra_days"],
                                           [LATE, FIXTURE, "0"]])
    assert lecturer("extensions", str(back)).exit_code == 0
    assert submission(course, LATE)[0] is None, "extra_days 0 takes an extension back"
    assert said(lecturer("extensions")).startswith(f"{EXTENDED} on {FIXTURE}")


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ([["student", "days"], [LATE, "2"]],
         "needs the columns student_id, module and new_due or extra_days; has days, student"),
        (None, "cannot be read (No such file or directory)"),
    ],
)
def test_an_extensions_file_that_is_not_one_is_one_line(
    course: Path, rows: list[list[str]] | None, says: str
) -> None:
    path = course / "ext.csv"
    if rows is not None:
        write_rows(path, rows)
    result = lecturer("extensions", str(path))
    assert result.exit_code == 1
    assert f"{path}: {says}" in said(result)
    assert not (course / "extensions-granted.csv").exists()


# ------------------------------------------------------------------ status and penalties


def test_late_work_shows_in_the_report_and_exports_with_nbgrader_s_penalty(
    course: Path,
) -> None:
    assert lecturer("deadline", FIXTURE, "2026-12-04T17:00").exit_code == 0
    write_rows(course / "ext.csv", [["student_id", "module", "extra_days"],
                                    [EXTENDED, FIXTURE, "2"]])
    assert lecturer("extensions", str(course / "ext.csv")).exit_code == 0
    record_fixture_marks(
        course,
        {student: full_marks(4) for student in (ON_TIME, LATE, EXTENDED, CANVAS, UNTIMED)},
        {  # CANVAS and UNTIMED have no timestamp.txt: the time is unknown
            ON_TIME: DUE - timedelta(hours=2),
            LATE: DUE + timedelta(hours=30),
            EXTENDED: DUE + timedelta(hours=30),
        },
    )
    canvas = course / "submitted" / CANVAS / FIXTURE
    canvas.mkdir(parents=True)
    (canvas / "CANVAS-LATE.txt").write_text("Canvas marked this submission LATE\n")

    # the course's policy is nbgrader_config.py's: "none" reports lateness, deducts nothing
    assert lecturer("report").exit_code == 0
    rows = {r["student"]: r for r in read_rows(course / "report" / "submissions.csv")}
    assert {student: row["status"] for student, row in rows.items()} == {
        LATE: "submitted; late by 2 days",
        EXTENDED: "submitted; within extension",
        CANVAS: "submitted; late (Canvas)",
        ABSENT: "no submission",
    }
    assert rows[LATE]["deadline"] == "late by 2 days" and rows[LATE]["penalty"] == "0.0"
    html = (course / "report" / "report.html").read_text(encoding="utf-8")
    assert "submitted; late by 2 days" in html and "submitted; within extension" in html

    set_policy(course, "cap")  # capped at 40% of 9 points: 3.6
    assert lecturer("export", "--format", "csv", "--out", "grades.csv").exit_code == 0
    table = {r["student_id"]: r for r in read_rows(course / "grades.csv")}
    assert table[LATE][f"{FIXTURE} (deadline)"] == "late by 2 days; 5.4 points deducted"
    assert (table[LATE][f"{FIXTURE} (points)"], table[LATE][f"{FIXTURE} (%)"]) == ("3.6", "40.0")
    assert table[LATE][f"{FIXTURE}/m99_q1_2_test"] == "3.0", "items keep the marks earned"
    assert table[LATE]["practice.online_safeguarding (%)"] == "100.0"
    assert table[ON_TIME][f"{FIXTURE} (points)"] == table[EXTENDED][f"{FIXTURE} (points)"] == "9.0"
    assert [table[s][f"{FIXTURE} (deadline)"] for s in (ON_TIME, EXTENDED, CANVAS, ABSENT,
                                                         UNTIMED)] == [
        "on time", "within extension", "late (Canvas)", "", "no submission time"]
    assert submission(course, LATE)[1] == pytest.approx(5.4), "recorded in nbgrader's gradebook"
    assert submission(course, ON_TIME)[1] is None and submission(course, EXTENDED)[1] is None

    set_policy(course, "per_day")  # 5% of 9 points for each of two days
    # a mark changed in formgrader
    record_fixture_marks(course, {LATE: full_marks(1)}, {LATE: DUE + timedelta(hours=30)})
    assert lecturer("export", "--format", "moodle", "--out", "moodle.csv").exit_code == 0
    moodle = {r["ID number"]: r for r in read_rows(course / "moodle.csv")}
    assert moodle[LATE][f"{FIXTURE} (out of 9)"] == "5.1"
    assert moodle[LATE][f"{FIXTURE} (deadline)"] == "late by 2 days; 0.9 points deducted"
    assert list(moodle[LATE])[-3:] == [f"{FIXTURE} (status)", f"{FIXTURE} (deadline)",
                                       "Pending manual grades"]
    assert lecturer("export", "--format", "canvas", "--out", "canvas.csv").exit_code == 0
    canvas_rows = list(csv.reader((course / "canvas.csv").open(encoding="utf-8")))
    assert canvas_rows[0][-2:] == [f"{FIXTURE} (deadline)", "Pending manual grades"]
    assert canvas_rows[1][-2:] == ["(read only)", "(read only)"]

    moved = lecturer("deadline", FIXTURE, "2026-12-06T17:00")  # the due date moves: on time now
    assert "late penalties assessed again for 5 graded submission(s)" in said(moved)
    assert submission(course, LATE)[1] is None


# ------------------------------------------------------------------ submission times from an LMS


WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "ID number", "Status", "Grade",
                    "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                    "Last modified (grade)", "Feedback comments"]


def _worksheet(path: Path, times: list[str]) -> Path:
    people = [("101", "Zoë Ní Bhriain", ON_TIME), ("102", "Jane Smith", LATE),
              ("103", "Amy Lee", EXTENDED)]
    rows = [[f"Participant {p}", name, f"{p}@example.ac.uk", sid, "Submitted for grading", "",
             "100.00", "Yes", when, "-", ""] for (p, name, sid), when in zip(people, times,
                                                                            strict=True)]
    return write_rows(path, [WORKSHEET_HEADER, *rows])


def _moodle_zip(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    with zipfile.ZipFile(path, "w") as archive:
        for participant, name in (("101", "Zoë Ní Bhriain"), ("102", "Jane Smith")):
            archive.writestr(f"{name}_{participant}_assignsubmission_file/{NOTEBOOK}",
                             nbformat.writes(nb))
    return path


def test_moodle_worksheet_times_become_nbgrader_s_timestamp(course: Path, tmp_path: Path) -> None:
    worksheet = _worksheet(tmp_path / "worksheet.csv", [
        "Friday, 4 December 2026, 4:59 PM", "Saturday, 5 December 2026, 11:00 PM", "-"])
    result = lecturer("import-lms", str(_moodle_zip(tmp_path / "moodle.zip")), "--module",
                      FIXTURE, "--class-list", str(worksheet), "--worksheet", str(worksheet))
    assert result.exit_code == 0, result.output
    assert "submitted Saturday 5 December 2026, 23:00 GMT" in said(result)
    stamp = course / "submitted" / LATE / FIXTURE / "timestamp.txt"
    assert stamp.read_text(encoding="utf-8") == "2026-12-05 23:00:00.000000 UTC"

    # nbgrader's autograde reads it (CourseDirectory.get_existing_timestamp); so does the status
    assert lecturer("deadline", FIXTURE, "2026-12-04T17:00").exit_code == 0
    record_fixture_marks(course, {ON_TIME: full_marks(4)},
                         {ON_TIME: datetime(2026, 12, 4, 16, 59)})
    assert lecturer("report").exit_code == 0
    rows = {r["student"]: r["status"] for r in read_rows(course / "report" / "submissions.csv")}
    assert rows[LATE] == "submitted, not graded yet; late by 2 days"
    assert ON_TIME not in rows


def test_summer_time_in_the_worksheet_is_bst(course: Path, tmp_path: Path) -> None:
    worksheet = _worksheet(tmp_path / "w.csv", ["Monday, 15 June 2026, 5:30 PM",
                                                "2026-06-15 18:00", "-"])
    assert lecturer("import-lms", str(_moodle_zip(tmp_path / "m.zip")), "--module", FIXTURE,
                    "--class-list", str(worksheet), "--worksheet", str(worksheet)).exit_code == 0
    times = [(course / "submitted" / s / FIXTURE / "timestamp.txt").read_text() for s in
             (ON_TIME, LATE)]
    assert times == ["2026-06-15 16:30:00.000000 UTC", "2026-06-15 17:00:00.000000 UTC"]


@pytest.mark.parametrize(
    ("times", "header", "says"),
    [
        (["lundi 4 décembre 2026, 16:59", "-", "-"], WORKSHEET_HEADER,
         "row 2: cannot read the submission time 'lundi 4 décembre 2026, 16:59'"),
        (["-", "-", "-"], WORKSHEET_HEADER[:8],
         "needs Moodle's columns Identifier and Last modified (submission)"),
    ],
)
def test_a_malformed_worksheet_imports_nothing(
    course: Path, tmp_path: Path, times: list[str], header: list[str], says: str
) -> None:
    worksheet = _worksheet(tmp_path / "w.csv", times)
    rows = list(csv.reader(worksheet.open(encoding="utf-8")))
    write_rows(worksheet, [header, *[row[: len(header)] for row in rows[1:]]])
    classes = _worksheet(tmp_path / "class-list.csv", ["-", "-", "-"])
    result = lecturer("import-lms", str(_moodle_zip(tmp_path / "m.zip")), "--module", FIXTURE,
                      "--class-list", str(classes), "--worksheet", str(worksheet))
    assert result.exit_code == 1
    assert f"worksheet {worksheet}" in said(result) and says in said(result)
    assert "not imported, nothing written" in said(result)
    assert not (course / "submitted").exists()


def test_canvas_late_mark_is_kept_and_shown(course: Path, tmp_path: Path) -> None:
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"smithjane_LATE_{LATE}_1_{NOTEBOOK}",
                        nbformat.writes(nbformat.v4.new_notebook()))
    imported = lecturer("import-lms", str(archive), "--module", FIXTURE)
    assert imported.exit_code == 0 and "(LATE)" in imported.output
    assert (course / "submitted" / LATE / FIXTURE / "CANVAS-LATE.txt").is_file()
    refused = lecturer("import-lms", str(archive), "--module", FIXTURE, "--overwrite",
                       "--worksheet", str(_worksheet(tmp_path / "w.csv", ["-", "-", "-"])))
    assert refused.exit_code == 1 and "Canvas marks late files itself" in said(refused)

    record_fixture_marks(course, {LATE: full_marks(4)})
    assert lecturer("export", "--format", "csv", "--out", "grades.csv").exit_code == 0
    table = {r["student_id"]: r for r in read_rows(course / "grades.csv")}
    assert table[LATE][f"{FIXTURE} (deadline)"] == "late (Canvas)"


# ------------------------------------------------------------------ through `digiready grade`


def test_an_unreadable_timestamp_is_named_and_nothing_recorded(
    built_fixture_course: CourseLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    shutil.copy(built_fixture_course.curriculum, root / "course" / "curriculum.yml")
    solution = built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    stamp = submit(root, FIXTURE, LATE, solution).parent / "timestamp.txt"
    stamp.write_text("yesterday, about five")
    monkeypatch.delenv(course_gradebook.ENVIRONMENT, raising=False)
    monkeypatch.chdir(root)

    graded = lecturer("grade", FIXTURE, "--workers", "1", "--unsafe")  # no kernel is started

    assert graded.exit_code == 1
    assert (f"NOT GRADED {LATE}: not graded: {stamp} is not a time ('yesterday, about five'): "
            "correct it") in said(graded)
    with Gradebook(gradebook_url(root)) as gradebook:
        assert gradebook.assignment_submissions(FIXTURE) == []


@pytest.mark.slow
@pytest.mark.usefixtures("sandbox_available")
def test_grading_applies_the_late_policy(
    built_fixture_course: CourseLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digiready grade` runs nbgrader's AssignLatePenalties with UKLatePolicy on the marks it
    decides: the late student's mark is capped; the on-time and the extended student's are not;
    and a late student whose notebook's own run scored less than the grader gives (cells moved
    out of order) is capped on the grader's mark, not the kernel's."""
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    shutil.copy(built_fixture_course.curriculum, root / "course" / "curriculum.yml")
    solution = built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    moved = nbformat.read(solution, as_version=4)  # Question 1.2's check above its answer:
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in moved.cells]
    answer, test = ids.index("m99_q1_2"), ids.index("m99_q1_2_test")
    moved.cells[answer], moved.cells[test] = moved.cells[test], moved.cells[answer]
    nbformat.write(moved, tmp_path / "moved.ipynb")  # the kernel scores 2, the grader 5
    for student, hours, notebook in ((ON_TIME, -2, solution), (LATE, 30, solution),
                                     (EXTENDED, 30, solution),
                                     (CANVAS, 30, tmp_path / "moved.ipynb")):
        folder = submit(root, FIXTURE, student, notebook).parent
        when = DUE + timedelta(hours=hours)
        (folder / "timestamp.txt").write_text(f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC")
    set_policy(root, "cap")
    monkeypatch.delenv(course_gradebook.ENVIRONMENT, raising=False)
    monkeypatch.chdir(root)
    write_rows(root / "class-list.csv", CLASS_LIST[:4])
    write_rows(root / "ext.csv", [["student_id", "module", "extra_days"], [EXTENDED, FIXTURE, "2"]])
    for command in (["class-list", "class-list.csv"], ["deadline", FIXTURE, "2026-12-04T17:00"],
                    ["extensions", "ext.csv"]):
        assert lecturer(*command).exit_code == 0

    graded = lecturer("grade", FIXTURE, "--workers", "1")

    assert graded.exit_code == 0, graded.output
    # 5 automatic points of 9 (the reflection waits for a marker): capped at 3.6
    assert submission(root, LATE) == (None, pytest.approx(1.4))
    assert submission(root, ON_TIME) == (None, None)
    assert submission(root, EXTENDED) == (timedelta(days=2), None)
    # the notebook's own run gave 2, below the cap, when nbgrader's step first ran during
    # autograde; the grader gives 5, and the penalty is assessed again on that
    assert submission(root, CANVAS) == (None, pytest.approx(1.4))
    exported = lecturer("export", "--format", "csv", "--pending", "zero", "--out", "g.csv")
    assert exported.exit_code == 0, exported.output
    table = {r["student_id"]: r for r in read_rows(root / "g.csv")}
    assert [table[s][f"{FIXTURE} (points)"] for s in (ON_TIME, LATE, EXTENDED, CANVAS)] == [
        "5.0", "3.6", "5.0", "3.6"]
