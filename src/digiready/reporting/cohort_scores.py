"""A cohort's marks as one tidy table, read from nbgrader's gradebook and the items' tags.

One row per student × graded cell:
student, module, grade_id, kind ("auto"/"manual"), capability, level, max_score,
score (NaN while a manual grade is pending), needs_manual_grade.
Reports and exports read marks only through `load_scores`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from nbgrader.api import Gradebook

from digiready.course.items import GradedItem, graded_items, read_notebook
from digiready.course.paths import CourseLayout

COLUMNS = [
    "student", "module", "grade_id", "kind", "capability", "level",
    "max_score", "score", "needs_manual_grade",
]


def module_items(layout: CourseLayout, module: str) -> dict[str, GradedItem]:
    """The graded items of a module's source notebook, by grade id."""
    notebook = read_notebook(layout.module_notebook(layout.source, module))
    return {item.grade_id: item for item in graded_items(notebook)}


def _score(grade: Any) -> float:
    """The grade's score, or NaN while a manual grade is pending (nbgrader reports 0 then)."""
    if grade.needs_manual_grade or grade.score is None:
        return float("nan")
    return float(grade.score)


def load_scores(db_url: str, layout: CourseLayout, modules: list[str]) -> pd.DataFrame:
    """Every graded cell's score for every submission of `modules` in the gradebook."""
    rows = []
    with Gradebook(db_url) as gradebook:
        for module in modules:
            items = module_items(layout, module)
            for submission in gradebook.assignment_submissions(module):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        item = items.get(grade.name)
                        rows.append({
                            "student": str(submission.student_id),
                            "module": module,
                            "grade_id": grade.name,
                            "kind": item.kind if item else "auto",
                            "capability": item.capability if item else None,
                            "level": item.level if item else None,
                            "max_score": float(grade.max_score),
                            "score": _score(grade),
                            "needs_manual_grade": bool(grade.needs_manual_grade),
                        })
    return pd.DataFrame(rows, columns=COLUMNS).astype({"student": "object"})
