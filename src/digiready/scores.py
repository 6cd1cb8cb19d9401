"""Read item scores out of nbgrader's gradebook and total them per capability."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from digiready.items import GradedItem
from digiready.nbgrader_run import gradebook_url


@dataclass(frozen=True)
class ItemScore:
    """One student's score on one graded cell."""

    student: str
    module: str
    grade_id: str
    score: float | None
    max_score: float
    needs_manual_grade: bool


def item_scores(root: Path, module: str, students: list[str]) -> list[ItemScore]:
    """Every graded cell's score for each student (the module's single notebook)."""
    found = []
    with Gradebook(gradebook_url(root)) as gradebook:
        for student in students:
            try:
                notebook = gradebook.find_submission_notebook(module, module, student)
            except MissingEntry:
                continue
            for grade in notebook.grades:
                found.append(
                    ItemScore(
                        student,
                        module,
                        grade.name,
                        grade.score,
                        grade.max_score,
                        bool(grade.needs_manual_grade),
                    )
                )
    return found


@dataclass(frozen=True)
class CapabilityScore:
    """Automatic points earned and available for one student on one capability."""

    student: str
    capability: str
    earned: float
    available: float


def auto_scores_by_capability(
    scores: list[ItemScore], items: list[GradedItem]
) -> list[CapabilityScore]:
    """Sum the automatically graded points per student and capability."""
    tags = {item.grade_id: item for item in items if item.kind == "auto"}
    earned: dict[tuple[str, str], float] = defaultdict(float)
    available: dict[tuple[str, str], float] = defaultdict(float)
    for score in scores:
        item = tags.get(score.grade_id)
        if item is None or item.capability is None:
            continue
        key = (score.student, item.capability)
        earned[key] += score.score or 0.0
        available[key] += score.max_score
    return [
        CapabilityScore(student, capability, earned[(student, capability)], total)
        for (student, capability), total in sorted(available.items())
    ]
