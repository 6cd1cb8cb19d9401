"""`digiready import-lms`: Moodle and Canvas submission zips into nbgrader's submitted/."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import CANVAS_HEADER
from digiready.lms import zip_import as lms_import
from digiready.lms.zip_import import ImportProblem, format_report, import_lms_zip

MODULE = "09-online-safeguarding"
NOTEBOOK = f"{MODULE}.ipynb"
ZOE_MOODLE = "Zoë Ní Bhriain_123456_assignsubmission_file"
JANE_MOODLE = "Jane Smith_234567_assignsubmission_file"
WORKSHEET = [
    ["Identifier", "Full name", "Email address", "ID number", "Status"],
    ["Participant 123456", "Zoë Ní Bhriain", "zoe@example.ac.uk", "0012345", "Submitted"],
    ["Participant 234567", "Jane Smith", "jane@example.ac.uk", "0023456", "Submitted"],
]
GRADEBOOK = [
    *CANVAS_HEADER,
    ["Smith, Jane", "12345", "0023456", "jsmith", "SW101"],
    ["Ní Bhriain, Zoë", "23456", "0012345", "zbhriain", "SW101"],
]


def notebook(text: str = "my answers") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    return nbformat.writes(nb).encode()


def text_of(path: Path) -> str:
    return str(nbformat.read(path, as_version=4).cells[0].source)


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course-root"
    (root / "course" / MODULE).mkdir(parents=True)
    return root


def submitted(course: Path, student_id: str) -> Path:
    return course / "submitted" / student_id / MODULE / NOTEBOOK


def assert_nothing_written(course: Path) -> None:
    assert not (course / "submitted").exists()
    assert sorted(p.name for p in course.iterdir()) == ["course"]


def test_moodle_folders_mapped_by_grading_worksheet(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "SW101-Online safeguarding-42.zip",
        {
            f"{ZOE_MOODLE}/{NOTEBOOK}": notebook("Zoë"),  # Moodle 4.1+
            f"{JANE_MOODLE}_/Copy of {NOTEBOOK}": notebook("Jane"),  # Moodle 3.1-4.0
        },
    )
    classes = write_csv(tmp_path / "worksheet.csv", WORKSHEET)

    report = import_lms_zip(archive, MODULE, course, class_list=classes)

    assert report.lms == "moodle"
    assert report.imported == {
        "0012345": submitted(course, "0012345"),
        "0023456": submitted(course, "0023456"),
    }
    assert text_of(submitted(course, "0012345")) == "Zoë"
    assert text_of(submitted(course, "0023456")) == "Jane"
    assert report.skipped == {} and report.late == []


def test_moodle_flat_files_with_plain_columns(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "moodle.zip",
        {
            f"{ZOE_MOODLE}_{MODULE} (1).ipynb": notebook(),
            "Zoë Ní Bhriain_123456_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>",
        },
    )
    classes = write_csv(
        tmp_path / "classes.csv", [["Participant_ID", "STUDENT_ID"], ["123456", "0012345"]]
    )

    report = import_lms_zip(archive, MODULE, course, class_list=classes)

    assert list(report.imported) == ["0012345"]
    online_text = "Zoë Ní Bhriain_123456_assignsubmission_onlinetext_onlinetext.html"
    assert report.skipped == {online_text: "0012345: not a notebook"}


def test_canvas_late_resubmission_mapped_by_gradebook_export(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "submissions.zip",
        {
            f"smithjane_LATE_12345_67890_{MODULE}-1.ipynb": notebook("late"),
            f"níbhriainzoë_23456_67891_{NOTEBOOK}": notebook("on time"),
        },
    )
    classes = write_csv(tmp_path / "gradebook.csv", GRADEBOOK)

    report = import_lms_zip(archive, MODULE, course, class_list=classes)

    assert report.lms == "canvas"
    assert sorted(report.imported) == ["0012345", "0023456"]
    assert report.late == ["0023456"]
    assert text_of(submitted(course, "0023456")) == "late"
    assert "(LATE)" in format_report(report)


@pytest.mark.parametrize("lms", ["moodle", "canvas"])
def test_no_timestamp_is_invented(course: Path, tmp_path: Path, lms: str) -> None:
    name = f"{ZOE_MOODLE}/{NOTEBOOK}" if lms == "moodle" else f"níbhriainzoë_23456_1_{NOTEBOOK}"
    archive = make_zip(tmp_path / "s.zip", {name: notebook()})
    table = WORKSHEET if lms == "moodle" else GRADEBOOK
    report = import_lms_zip(archive, MODULE, course, write_csv(tmp_path / "c.csv", table))

    assert not (course / "submitted" / "0012345" / MODULE / "timestamp.txt").exists()
    assert any("no timestamp.txt" in warning for warning in report.warnings)


def test_canvas_without_class_list_uses_canvas_user_ids(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_67890_{NOTEBOOK}": notebook()})

    report = import_lms_zip(archive, MODULE, course)

    assert list(report.imported) == ["12345"]
    assert any("Canvas user ids are used" in warning for warning in report.warnings)


def test_moodle_without_class_list_is_refused(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"{ZOE_MOODLE}/{NOTEBOOK}": notebook()})

    with pytest.raises(ImportProblem, match="needs a class list"):
        import_lms_zip(archive, MODULE, course)
    assert_nothing_written(course)


def test_most_recent_notebook_taken_and_the_older_kept_beside_it(
    course: Path, tmp_path: Path
) -> None:
    """Canvas numbers files in upload order: the last upload is graded, even when an older one
    has the module's own name; the older ones are kept beside it, so grading flags them."""
    folder = "smithjane_12345_6789"
    names = [NOTEBOOK, "notes.ipynb", f"{MODULE}-2.ipynb", "amy_final_version.ipynb"]
    entries = {f"{folder}{i}_{name}": notebook(name) for i, name in enumerate(names)}
    entries[f"{folder}9_reflection.pdf"] = b"%PDF-1.4"
    archive = make_zip(tmp_path / "s.zip", entries)

    report = import_lms_zip(archive, MODULE, course)

    assert text_of(submitted(course, "12345")) == "amy_final_version.ipynb"
    folder_path = submitted(course, "12345").parent
    assert sorted(p.name for p in folder_path.iterdir()) == sorted(
        [NOTEBOOK, f"{MODULE} (older 1).ipynb", "notes.ipynb", f"{MODULE}-2.ipynb"]
    )
    assert text_of(folder_path / f"{MODULE} (older 1).ipynb") == NOTEBOOK
    older = [f"{MODULE}-2.ipynb", "notes.ipynb", f"{MODULE} (older 1).ipynb"]
    assert report.others == {"12345": older}
    assert report.skipped == {f"{folder}9_reflection.pdf": "12345: not a notebook"}
    assert "the most recent of several" in format_report(report)


def test_moodle_several_notebooks_newest_file_time_wins(course: Path, tmp_path: Path) -> None:
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        uploads = ((NOTEBOOK, (2026, 11, 2, 9, 0, 0)), ("Untitled.ipynb", (2026, 11, 3, 9, 0, 0)))
        for name, when in uploads:
            writer.writestr(zipfile.ZipInfo(f"{ZOE_MOODLE}/{name}", when), notebook(name))

    report = import_lms_zip(archive, MODULE, course, write_csv(tmp_path / "w.csv", WORKSHEET))

    assert text_of(submitted(course, "0012345")) == "Untitled.ipynb"
    assert report.others == {"0012345": [f"{MODULE} (older 1).ipynb"]}
    assert report.no_submission == ["0023456"]


@pytest.mark.parametrize(
    "filename",
    [
        f"{MODULE} (1).ipynb",
        f"Copy of {MODULE}.ipynb",
        f"{MODULE}-2.ipynb",
        f"{MODULE}-Copy1.ipynb",
        "09_Online_Safeguarding.ipynb",
        "9 online safeguarding - Jane Smith.ipynb",
    ],
)
def test_renamed_notebook_is_taken(course: Path, tmp_path: Path, filename: str) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{filename}": notebook()})

    assert list(import_lms_zip(archive, MODULE, course).imported) == ["12345"]


@pytest.mark.parametrize(
    "filename", ["10-online-safeguarding.ipynb", "Untitled.ipynb", "amy_lee_final_version.ipynb"]
)
def test_lone_notebook_with_any_name_is_imported_under_its_name(
    course: Path, tmp_path: Path, filename: str
) -> None:
    """Grading then grades it as the module's notebook and flags it as renamed."""
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{filename}": notebook()})

    report = import_lms_zip(archive, MODULE, course)

    path = course / "submitted" / "12345" / MODULE / filename
    assert report.imported == {"12345": path} and path.is_file()
    assert report.renamed == {"12345": filename} and report.skipped == {}
    assert "graded as the module's notebook and flagged" in format_report(report)


def test_no_notebook_at_all_is_recorded_as_not_imported(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "s.zip",
        {"smithjane_12345_1_essay.docx": b"PK", f"níbhriainzoë_23456_2_{NOTEBOOK}": notebook()},
    )

    report = import_lms_zip(archive, MODULE, course)

    marker = course / "submitted" / "12345" / MODULE / lms_import.NOT_IMPORTED
    assert report.not_imported == {"12345": marker}
    assert marker.read_text(encoding="utf-8").strip() == "not a notebook: essay.docx"
    assert report.problems["12345"] == "not a notebook: essay.docx"


def test_unknown_module_writes_nothing_and_lists_the_modules(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook()})

    expected = f"unknown module '09-online-safeguardin': use one of {MODULE}"
    with pytest.raises(ImportProblem, match=expected):
        import_lms_zip(archive, "09-online-safeguardin", course)
    assert_nothing_written(course)


def test_a_failed_move_puts_every_earlier_submission_back(
    course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for student in ("12345", "23456"):
        old = course / "submitted" / student / MODULE
        old.mkdir(parents=True)
        (old / NOTEBOOK).write_bytes(notebook(f"old {student}"))
    archive = make_zip(
        tmp_path / "s.zip",
        {
            f"smithjane_12345_1_{NOTEBOOK}": notebook("new"),
            f"doejo_23456_2_{NOTEBOOK}": notebook("new"),
        },
    )
    real_move = lms_import._move

    def failing_move(source: Path, target: Path) -> None:
        if source.parent.name == "new" and source.name == "23456":
            raise OSError(28, "No space left on device")
        real_move(source, target)

    monkeypatch.setattr(lms_import, "_move", failing_move)

    with pytest.raises(lms_import.InstallFailed, match="earlier submissions are as they were"):
        import_lms_zip(archive, MODULE, course, overwrite=True)
    for student in ("12345", "23456"):
        assert text_of(submitted(course, student)) == f"old {student}"
    assert not list(course.glob(".lms-import-*"))


def test_corrupt_zip_names_the_file_and_writes_nothing(course: Path, tmp_path: Path) -> None:
    archive = tmp_path / "broken-download.zip"
    archive.write_bytes(b"PK\x03\x04 this download was cut short")

    with pytest.raises(ImportProblem) as caught:
        import_lms_zip(archive, MODULE, course)
    assert str(archive) in str(caught.value)
    assert "not a readable zip file" in str(caught.value)
    assert_nothing_written(course)


@pytest.mark.parametrize("evil", ["../../etc/cron.d/x.ipynb", "/tmp/x.ipynb", "a/..\\..\\x.ipynb"])
def test_path_traversal_entry_rejects_the_zip(course: Path, tmp_path: Path, evil: str) -> None:
    archive = make_zip(
        tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook(), evil: notebook()}
    )

    with pytest.raises(ImportProblem, match="unsafe path"):
        import_lms_zip(archive, MODULE, course)
    assert_nothing_written(course)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"cells": [', "is not a notebook (not JSON"),
        (b'{"nbformat": 3, "worksheets": []}', "is not an nbformat 4 notebook (format 3"),
        (b"", "is an empty file"),
    ],
)
def test_one_bad_notebook_is_imported_as_it_is_with_a_warning(
    course: Path, tmp_path: Path, data: bytes, problem: str
) -> None:
    bad = f"níbhriainzoë_23456_2_{NOTEBOOK}"
    archive = make_zip(
        tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook("jane's"), bad: data}
    )

    report = import_lms_zip(archive, MODULE, course)
    assert sorted(report.imported) == ["12345", "23456"]
    assert text_of(submitted(course, "12345")) == "jane's"
    assert submitted(course, "23456").read_bytes() == data
    assert list(report.problems) == ["23456"] and report.problems["23456"].startswith(bad)
    assert problem in report.problems["23456"]
    assert f"23456: {submitted(course, '23456')}  (warning: {bad} {problem}" in format_report(
        report
    )


def test_oversized_notebook_is_not_imported_and_says_why(
    course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lms_import, "MAX_NOTEBOOK_BYTES", 1000)
    big = f"níbhriainzoë_23456_2_{NOTEBOOK}"
    archive = make_zip(
        tmp_path / "s.zip",
        {f"smithjane_12345_1_{NOTEBOOK}": notebook(), big: notebook("x" * 2000)},
    )

    report = import_lms_zip(archive, MODULE, course)
    assert sorted(report.imported) == ["12345"]
    placeholder = course / "submitted" / "23456" / MODULE / "NOT-IMPORTED.txt"
    assert report.not_imported == {"23456": placeholder}
    assert sorted(p.name for p in placeholder.parent.iterdir()) == ["NOT-IMPORTED.txt"]
    assert "larger than 1,000 bytes" in placeholder.read_text(encoding="utf-8")
    assert "larger than 1,000 bytes" in report.problems["23456"]
    assert "not imported 1 notebook(s)" in format_report(report)


def test_unknown_student_refused_unless_skipped(course: Path, tmp_path: Path) -> None:
    stranger = "Ola Nordmann_999999_assignsubmission_file"
    archive = make_zip(
        tmp_path / "s.zip",
        {f"{ZOE_MOODLE}/{NOTEBOOK}": notebook(), f"{stranger}/{NOTEBOOK}": notebook()},
    )
    classes = write_csv(tmp_path / "worksheet.csv", WORKSHEET)

    with pytest.raises(ImportProblem) as caught:
        import_lms_zip(archive, MODULE, course, class_list=classes)
    assert "Ola Nordmann (participant 999999) is not in the class list" in str(caught.value)
    assert_nothing_written(course)

    report = import_lms_zip(archive, MODULE, course, class_list=classes, skip_unknown=True)
    assert list(report.imported) == ["0012345"]
    assert report.skipped == {
        f"{stranger}/{NOTEBOOK}": "Ola Nordmann (participant 999999) is not in the class list"
    }


def test_existing_submission_kept_unless_overwrite(course: Path, tmp_path: Path) -> None:
    old = course / "submitted" / "12345" / MODULE
    old.mkdir(parents=True)
    (old / NOTEBOOK).write_bytes(notebook("old"))
    (old / "timestamp.txt").write_text("2025-11-20 14:03:00.000000 UTC")
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook("new")})

    report = import_lms_zip(archive, MODULE, course)
    assert report.imported == {}
    assert "already exists" in report.skipped[f"smithjane_12345_1_{NOTEBOOK}"]
    assert text_of(old / NOTEBOOK) == "old"

    report = import_lms_zip(archive, MODULE, course, overwrite=True)
    assert report.replaced == ["12345"]
    assert sorted(p.name for p in old.iterdir()) == [NOTEBOOK]
    assert text_of(old / NOTEBOOK) == "new"
    assert sorted(p.name for p in course.iterdir()) == ["course", "submitted"]


def test_unflagged_utf8_names_are_read_as_utf8(course: Path, tmp_path: Path) -> None:
    class Unflagged(zipfile.ZipInfo):  # how rubyzip (Canvas) writes names: UTF-8, no flag
        def _encodeFilenameFlags(self) -> tuple[bytes, int]:
            return self.filename.encode("utf-8"), self.flag_bits

    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr(Unflagged(f"níbhriainzoë_LATE_23456_1_{NOTEBOOK}"), notebook())

    report = import_lms_zip(archive, MODULE, course, write_csv(tmp_path / "c.csv", GRADEBOOK))

    assert report.imported == {"0012345": submitted(course, "0012345")}
    assert report.late == ["0012345"]


def test_mac_litter_ignored_and_wrapping_folder_allowed(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "s.zip",
        {
            f"SW101 submissions/{ZOE_MOODLE}/{NOTEBOOK}": notebook(),
            f"__MACOSX/SW101 submissions/{ZOE_MOODLE}/._{NOTEBOOK}": b"\x00\x05\x16\x07",
            "SW101 submissions/.DS_Store": b"\x00\x00\x00\x01Bud1",
        },
    )
    classes = write_csv(tmp_path / "worksheet.csv", WORKSHEET)

    report = import_lms_zip(archive, MODULE, course, class_list=classes)

    assert list(report.imported) == ["0012345"] and report.skipped == {}


def test_zip_of_something_else_is_refused(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {"readme.txt": b"hi", "answers.ipynb": notebook()})

    with pytest.raises(ImportProblem, match="not an LMS submissions zip"):
        import_lms_zip(archive, MODULE, course)


def test_forced_format_that_does_not_fit_is_refused(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook()})
    classes = write_csv(tmp_path / "worksheet.csv", WORKSHEET)

    with pytest.raises(ImportProblem) as caught:
        import_lms_zip(archive, MODULE, course, class_list=classes, lms="moodle")
    assert f"smithjane_12345_1_{NOTEBOOK}: not named like a moodle submission" in str(caught.value)


def test_class_list_without_id_columns_is_refused(course: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {f"smithjane_12345_1_{NOTEBOOK}": notebook()})
    classes = write_csv(tmp_path / "c.csv", [["Student", "Email"], ["Smith, Jane", "j@x.uk"]])

    with pytest.raises(ImportProblem, match="needs columns canvas_user_id or id and student_id"):
        import_lms_zip(archive, MODULE, course, class_list=classes)


def test_two_lms_ids_for_one_student_is_refused(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "s.zip",
        {f"smithjane_12345_1_{NOTEBOOK}": notebook(), f"smithjane_12346_2_{NOTEBOOK}": notebook()},
    )
    table = [["ID", "SIS User ID"], ["12345", "0023456"], ["12346", "0023456"]]

    with pytest.raises(ImportProblem, match="student 0023456 is both Canvas user 12345 and 12346"):
        import_lms_zip(archive, MODULE, course, write_csv(tmp_path / "c.csv", table))


def test_format_report_lists_everything(course: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "submissions.zip",
        {f"smithjane_LATE_12345_1_{NOTEBOOK}": notebook(), "smithjane_12345_text.html": b""},
    )

    text = format_report(import_lms_zip(archive, MODULE, course))

    assert text.splitlines() == [
        f"submissions.zip (canvas): imported 1 notebook(s) of {MODULE}",
        f"  12345: {submitted(course, '12345')}  (LATE)",
        "skipped 1 file(s):",
        "  smithjane_12345_text.html: not a notebook",
        "warning: Canvas file names carry no submission time, only a LATE mark (kept as "
        "CANVAS-LATE.txt, shown as 'late (Canvas)'): no timestamp.txt written",
        "warning: no class list: Canvas user ids are used as student ids",
    ]
    late = submitted(course, "12345").parent / "CANVAS-LATE.txt"
    assert late.read_text(encoding="utf-8") == (
        f"Canvas marked this submission LATE: smithjane_LATE_12345_1_{NOTEBOOK}\n"
    )
    assert not (late.parent / "timestamp.txt").exists()
