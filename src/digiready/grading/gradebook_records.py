"""What `digiready grade` writes into nbgrader's gradebook beyond nbgrader's own scores.

A submission that needs a person's look is *flagged* (nbgrader's own flag, shown in formgrader)
and the reasons go into the automatic comment of its first answer cell. A submission that
cannot be graded at all (no readable notebook) is recorded with zero for every item, flagged,
with the reason, so the gradebook lists every student who submitted; one whose grading failed
twice for the grader's own reasons is recorded not at all (`remove_submission`). Before a
forced regrade the gradebook is copied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from digiready.course.paths import GRADEBOOK_BACKUPS_DIR
from digiready.grading.course_gradebook import GradebookProblem, describe, health, sqlite_file
from digiready.grading.nbgrader_run import gradebook_url

COMMENT_PREFIX = "digiready flagged this for review:"
ITEM = "\n- "


def _flag(gradebook: Gradebook, module: str, student: str, reasons: list[str]) -> None:
    notebook = gradebook.find_submission_notebook(module, module, student)
    notebook.flagged = bool(reasons)
    comments = sorted(notebook.comments, key=lambda comment: comment.name)
    if comments:
        kept = (comments[0].auto_comment or "").split(COMMENT_PREFIX)[0].strip()
        ours = COMMENT_PREFIX + "".join(ITEM + reason for reason in reasons) if reasons else ""
        comments[0].auto_comment = " ".join(part for part in (kept, ours) if part) or None
    gradebook.db.commit()


def flag_for_review(root: Path, module: str, student: str, reasons: list[str]) -> None:
    """Flag (or, with no reasons, unflag) a graded submission, with the reasons as a comment."""
    with Gradebook(gradebook_url(root)) as gradebook:
        _flag(gradebook, module, student, reasons)


def record_ungradable(root: Path, module: str, student: str, reason: str) -> None:
    """Zero for every item of a submission that could not be graded, flagged with the reason."""
    with Gradebook(gradebook_url(root)) as gradebook:
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(module, student)
        notebook = gradebook.find_submission_notebook(module, module, student)
        for grade in notebook.grades:
            grade.auto_score = 0
            grade.manual_score = None
            grade.needs_manual_grade = False
        gradebook.db.commit()
        _flag(gradebook, module, student, [reason])


def record_auto_scores(
    root: Path, module: str, student: str, scores: Mapping[str, float]
) -> dict[str, float]:
    """Store the grader's marks as these test cells' automatic scores; returns the scores the
    notebook's own run had been given (nbgrader's, from the student's kernel), by grade id."""
    with Gradebook(gradebook_url(root)) as gradebook:
        notebook = gradebook.find_submission_notebook(module, module, student)
        kernel: dict[str, float] = {}
        for grade in notebook.grades:
            if grade.name in scores:
                kernel[grade.name] = float(grade.auto_score or 0.0)
                grade.auto_score = scores[grade.name]
                grade.needs_manual_grade = grade.manual_score is not None  # as nbgrader does
        gradebook.db.commit()
    return kernel


def remove_submission(root: Path, module: str, student: str) -> None:
    """Take a student's submission of `module` out of the gradebook (if it is there)."""
    with Gradebook(gradebook_url(root)) as gradebook:
        try:
            gradebook.remove_submission(module, student)
        except MissingEntry:
            return


def flag_reasons(root: Path, module: str, student: str) -> list[str]:
    """The reasons recorded for a flagged submission ([] when it is not flagged)."""
    with Gradebook(gradebook_url(root)) as gradebook:
        notebook = gradebook.find_submission_notebook(module, module, student)
        if not notebook.flagged:
            return []
        for comment in sorted(notebook.comments, key=lambda comment: comment.name):
            text = comment.auto_comment or ""
            if COMMENT_PREFIX in text:
                return text.split(COMMENT_PREFIX, 1)[1].split(ITEM)[1:]
        return []


def backup_gradebook(root: Path) -> Path | None:
    """Copy the gradebook (consistently, with SQLite's backup) into `gradebook-backups/`.

    None when there is nothing to copy (no SQLite file yet, or another database, which its own
    tools back up). A corrupt or locked gradebook raises `GradebookProblem` and is not copied,
    so a damaged file never takes the place of a good backup."""
    database = sqlite_file(gradebook_url(root))
    if database is None or not database.is_file():
        return None
    problem = health(database)
    if problem:
        raise GradebookProblem(describe(database, problem))
    folder = database.parent / GRADEBOOK_BACKUPS_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"gradebook-{stamp}.db"
    with sqlite3.connect(database, timeout=60) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return target
