"""Grade files for spreadsheets, Moodle and Canvas read back exactly with the csv module."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd
import pytest

from digiready.course.curriculum import Curriculum
from digiready.lms.export import Format, Pending, export_grades
from digiready.reporting.cohort_scores import COLUMNS

CURRICULUM = Path(__file__).resolve().parents[1] / "course" / "curriculum.yml"
M09 = "09-online-safeguarding"
M10 = "10-data-protection-and-information-sharing"
SAFEGUARDING = "practice.online_safeguarding"
ONLINE_LIVES = "practice.online_lives_and_technology_needs"
LAW = "practice.law_and_regulation"
ETHICS = "practice.ethical_decision_making"
ONEIL = 'o\'neil, "j"'
NAN = float("nan")

# (module, grade_id, kind, capability, max_score)
ITEMS = [
    (M09, "m09_q1_1", "auto", SAFEGUARDING, 2.0),
    (M09, "m09_q2_1", "auto", ONLINE_LIVES, 3.0),
    (M09, "m09_r1", "manual", SAFEGUARDING, 5.0),
    (M10, "m10_q1_1", "auto", LAW, 4.0),
    (M10, "m10_q2_1", "auto", ETHICS, 1.5),
]
# Scores in ITEMS order; NaN is a manual grade still pending; o'neil did not submit 10.
MARKS = {
    "0012345": [2.0, 3.0, 4.0, 4.0, 1.5],
    "007": [1.0, 0.0, NAN, 2.0, 0.0],
    ONEIL: [2.0, 1.5, 2.5],
}


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    rows = [
        {
            "student": student,
            "module": module,
            "grade_id": grade_id,
            "kind": kind,
            "capability": capability,
            "level": 1,
            "max_score": max_score,
            "score": score,
            "needs_manual_grade": score != score,
        }
        for student, marks in MARKS.items()
        for (module, grade_id, kind, capability, max_score), score in zip(
            ITEMS, marks, strict=False
        )
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def export(
    scores: pd.DataFrame,
    curriculum: Curriculum,
    tmp_path: Path,
    fmt: Format,
    pending: Pending = "blank",
    modules: list[str] | None = None,
    capabilities: bool = False,
    class_list: dict[str, dict[str, str]] | None = None,
) -> tuple[str, list[list[str]]]:
    """Export, then return the file's text and its rows parsed back with the csv module."""
    out = export_grades(
        scores,
        curriculum,
        fmt,
        tmp_path / f"{fmt}.csv",
        modules,
        pending,
        capabilities=capabilities,
        class_list=class_list,
    )
    text = out.read_text(encoding="utf-8-sig")
    return text, list(csv.reader(text.splitlines()))


def by_student(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_csv_has_totals_percentages_items_and_exact_ids(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    _, rows = export(scores, curriculum, tmp_path, "csv")
    assert rows[0] == [
        "student_id",
        "name",
        f"{M09} (points)",
        f"{M09} (max)",
        f"{M09} (%)",
        f"{M09} (status)",
        f"{M10} (points)",
        f"{M10} (max)",
        f"{M10} (%)",
        f"{M10} (status)",
        f"{ONLINE_LIVES} (%)",
        f"{ETHICS} (%)",
        f"{SAFEGUARDING} (%)",
        f"{LAW} (%)",
        f"{M09}/m09_q1_1",
        f"{M09}/m09_q2_1",
        f"{M09}/m09_r1",
        f"{M10}/m10_q1_1",
        f"{M10}/m10_q2_1",
        "pending_manual",
    ]
    table = by_student(rows)
    assert list(table) == ["0012345", "007", ONEIL]
    top = table["0012345"]
    assert [number(top[f"{M09} ({c})"]) for c in ("points", "max", "%")] == [9.0, 10.0, 90.0]
    assert [number(top[f"{M10} ({c})"]) for c in ("points", "max", "%")] == [5.5, 5.5, 100.0]
    assert number(top[f"{SAFEGUARDING} (%)"]) == 85.71
    assert number(top[f"{M09}/m09_r1"]) == 4.0
    assert top["pending_manual"] == "0"
    oneil = table[ONEIL]
    assert number(oneil[f"{M09} (%)"]) == 60.0
    assert number(oneil[f"{ONLINE_LIVES} (%)"]) == 50.0
    assert number(oneil[f"{SAFEGUARDING} (%)"]) == 64.29
    assert oneil[f"{M10} (points)"] == oneil[f"{LAW} (%)"] == oneil[f"{M10}/m10_q1_1"] == ""
    assert (oneil[f"{M09} (status)"], oneil[f"{M10} (status)"]) == ("submitted", "no submission")


def test_csv_blank_withholds_totals_with_a_pending_manual_grade(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    _, rows = export(scores, curriculum, tmp_path, "csv", "blank")
    pending = by_student(rows)["007"]
    assert pending[f"{M09} (points)"] == pending[f"{M09} (%)"] == ""
    assert number(pending[f"{M09} (max)"]) == 10.0
    assert pending[f"{SAFEGUARDING} (%)"] == ""
    assert number(pending[f"{ONLINE_LIVES} (%)"]) == 0.0
    assert number(pending[f"{M10} (%)"]) == 36.36
    assert pending[f"{M09}/m09_r1"] == ""
    assert pending["pending_manual"] == "1"


def test_csv_zero_counts_what_is_graded_and_still_flags_it(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    _, rows = export(scores, curriculum, tmp_path, "csv", "zero")
    pending = by_student(rows)["007"]
    assert number(pending[f"{M09} (points)"]) == 1.0
    assert number(pending[f"{M09} (%)"]) == 10.0
    assert number(pending[f"{SAFEGUARDING} (%)"]) == 14.29
    assert pending[f"{M09}/m09_r1"] == ""
    assert pending["pending_manual"] == "1"


def test_csv_quotes_text_not_numbers_and_starts_with_a_bom(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    text, _ = export(scores, curriculum, tmp_path, "csv")
    assert (tmp_path / "csv.csv").read_bytes().startswith(codecs.BOM_UTF8)
    lines = text.splitlines()
    assert lines[0].startswith('"student_id","name","09-online-safeguarding (points)",')
    assert lines[1].startswith('"0012345","",9.0,10.0,90.0,"submitted",')
    assert lines[2].startswith('"007","","",10.0,"","submitted",')
    assert lines[3].startswith('"o\'neil, ""j""","",6.0,')


def test_moodle_maps_id_number_and_marks_no_grade(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    text, rows = export(scores, curriculum, tmp_path, "moodle")
    assert not (tmp_path / "moodle.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert rows[0] == [
        "ID number",
        f"{M09} (out of 10)",
        f"{M10} (out of 5.5)",
        f"{M09} (status)",
        f"{M10} (status)",
        "Pending manual grades",
    ]
    assert rows[1:] == [
        ["0012345", "9.0", "5.5", "submitted", "submitted", "0"],
        ["007", "-", "2.0", "submitted", "submitted", "1"],
        [ONEIL, "6.0", "-", "submitted", "no submission", "0"],
    ]
    assert text.splitlines()[2] == '"007","-",2.0,"submitted","submitted",1'


def test_moodle_zero_and_capability_columns(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    _, rows = export(scores, curriculum, tmp_path, "moodle", "zero", capabilities=True)
    assert rows[0][3:] == [
        f"{ONLINE_LIVES} (%)",
        f"{ETHICS} (%)",
        f"{SAFEGUARDING} (%)",
        f"{LAW} (%)",
        f"{M09} (status)",
        f"{M10} (status)",
        "Pending manual grades",
    ]
    cells = ["007", "1.0", "2.0", "0.0", "0.0", "14.29", "50.0", "submitted", "submitted", "1"]
    assert by_student(rows)["007"] == dict(zip(rows[0], cells, strict=True))


def test_canvas_has_points_possible_and_sis_user_ids(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    text, rows = export(scores, curriculum, tmp_path, "canvas")
    assert not (tmp_path / "canvas.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        M09,
        M10,
        f"{M09} (status)",
        f"{M10} (status)",
        "Pending manual grades",
    ]
    read_only = ["(read only)"] * 3
    assert rows[1] == ["Points Possible", "", "", "", "", "10.0", "5.5", *read_only]
    done = ["submitted", "submitted"]
    assert rows[2:] == [
        ["0012345", "", "0012345", "", "", "9.0", "5.5", *done, "0"],
        ["007", "", "007", "", "", "", "2.0", *done, "1"],
        [ONEIL, "", ONEIL, "", "", "6.0", "", "submitted", "no submission", "0"],
    ]
    assert text.splitlines()[3] == '"007","","007","","","",2.0,"submitted","submitted",1'


def test_canvas_zero_class_list_and_capabilities(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    class_list = {"007": {"name": "Bond, James", "id": "4242"}}
    _, rows = export(
        scores, curriculum, tmp_path, "canvas", "zero", capabilities=True, class_list=class_list
    )
    assert rows[1][5:] == ["10.0", "5.5", *["100.0"] * 4, *["(read only)"] * 3]
    assert rows[3] == [
        "Bond, James",
        "4242",
        "007",
        "",
        "",
        "1.0",
        "2.0",
        "0.0",
        "0.0",
        "14.29",
        "50.0",
        "submitted",
        "submitted",
        "1",
    ]
    assert rows[2][:3] == ["0012345", "", "0012345"]


def test_modules_filter_and_errors(
    scores: pd.DataFrame, curriculum: Curriculum, tmp_path: Path
) -> None:
    _, rows = export(scores, curriculum, tmp_path, "moodle", modules=[M10])
    header = ["ID number", f"{M10} (out of 5.5)", f"{M10} (status)", "Pending manual grades"]
    assert rows[0] == header
    assert rows[1:] == [["0012345", "5.5", "submitted", "0"], ["007", "2.0", "submitted", "0"]]
    with pytest.raises(KeyError, match="99-nowhere"):
        export(scores, curriculum, tmp_path, "csv", modules=["99-nowhere"])
    with pytest.raises(ValueError, match="01-professional-standards"):
        export(scores, curriculum, tmp_path, "csv", modules=["01-professional-standards"])
    with pytest.raises(ValueError, match="pending"):
        export(scores, curriculum, tmp_path, "csv", "later")
