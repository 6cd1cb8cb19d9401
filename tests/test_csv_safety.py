"""Student text that a spreadsheet would run as a formula reaches no lecturer's CSV live: answers
in report/item_analysis.csv, student ids and class-list names in every export get a leading ';
numbers (a score of -1 included) stay numbers."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd
import pytest

from digiready.course.csv_safety import safe_cell
from digiready.course.curriculum import Curriculum
from digiready.lms.export import Format, export_grades
from digiready.reporting.cohort_scores import COLUMNS
from digiready.reporting.report import write_report
from digiready.student.self_audit import save_cpd_plan

M09 = "09-online-safeguarding"
SAFE = "practice.online_safeguarding"
ATTACKS = ['+HYPERLINK("http://x","y")', "=1+1", "@SUM(A1)", "-2+3", "\tcmd", "\r=2"]


def score_rows(students: list[str], items: int, score: float) -> pd.DataFrame:
    rows = [
        {"student": student, "module": M09, "grade_id": f"m09_q{item + 1}_1_test", "kind": "auto",
         "capability": SAFE, "level": 1, "max_score": 2.0, "score": score,
         "needs_manual_grade": False}
        for student in students
        for item in range(items)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_safe_cell_prefixes_formula_text_only() -> None:
    assert [safe_cell(text) for text in ATTACKS] == ["'" + text for text in ATTACKS]
    assert [safe_cell(v) for v in (-1.0, -3, 0, "0012345", "-", "", None, "a-b", "'b'")] == [
        -1.0, -3, 0, "0012345", "-", "", None, "a-b", "'b'"]


def test_answers_in_item_analysis_are_not_formulas(
    curriculum: Curriculum, tmp_path: Path
) -> None:
    """Item k's commonest wrong answer is ATTACKS[k] (everyone scored 0 on it)."""
    students = ["0012345", "0099001", "s3"]
    scores = score_rows(students, len(ATTACKS), 0.0)
    answers = scores[["student", "module", "grade_id"]].assign(
        answer=[ATTACKS[int(g.split("_")[1][1:]) - 1] for g in scores["grade_id"]])
    out = write_report(scores, curriculum, tmp_path / "report", answers=answers).parent
    rows = read_rows(out / "item_analysis.csv")
    column = rows[0].index("wrong_answer_1")
    written = sorted(row[column] for row in rows[1:])
    assert written == sorted("'" + text for text in ATTACKS)
    modules = read_rows(out / "module_scores.csv")
    assert {row[0] for row in modules[1:]} == set(students)


@pytest.mark.parametrize("fmt", ["csv", "moodle", "canvas"])
def test_exports_prefix_formula_text_and_keep_numbers(
    curriculum: Curriculum, tmp_path: Path, fmt: Format
) -> None:
    students = [*ATTACKS, "0012345"]
    scores = score_rows(students, 1, 2.0)
    scores.loc[scores["student"] == "0012345", "score"] = -1.0
    names = {student: {"name": "=cmd|' /C calc'!A0", "id": "@1"} for student in students}
    out = export_grades(scores, curriculum, fmt, tmp_path / f"{fmt}.csv", class_list=names)
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) == (fmt == "csv")
    rows = read_rows(out)
    id_column = rows[0].index({"csv": "student_id", "moodle": "ID number",
                               "canvas": "SIS User ID"}[fmt])
    first_data = 2 if fmt == "canvas" else 1
    ids = [row[id_column] for row in rows[first_data:]]
    assert sorted(ids) == sorted(["'" + text for text in ATTACKS] + ["0012345"])
    for cell in (cell for row in rows for cell in row):
        live = cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert not live or is_number(cell) or cell == "-", repr(cell)
    text = raw.decode("utf-8-sig")
    if fmt == "csv":  # marks per capability as earned: a negative number stays a number
        assert ",-1.0," in text or ",-1.0\r" in text
    else:  # a module total only, never below 0, as nbgrader's own export gives it
        assert ",0.0," in text
    if fmt == "canvas":
        assert {row[0] for row in rows[first_data:]} == {"'=cmd|' /C calc'!A0"}
        assert {row[1] for row in rows[first_data:]} == {"'@1"}


def test_cpd_plan_csv_is_not_a_formula(tmp_path: Path) -> None:
    """A student's own plan may reach a lecturer too: its CSV is safe, its markdown unchanged."""
    action = '=HYPERLINK("http://x","y")'
    save_cpd_plan([{"capability": SAFE, "action": action, "evidence": "-2+3", "by_when": "-"}],
                  tmp_path)
    header, row = read_rows(tmp_path / "my_cpd_plan.csv")[:2]
    cells = dict(zip(header, row, strict=True))
    assert [cells["action"], cells["evidence"], cells["by_when"]] == ["'" + action, "'-2+3", "-"]
    assert action in (tmp_path / "my_cpd_plan.md").read_text(encoding="utf-8")
