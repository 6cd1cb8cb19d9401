"""Who is on the course, as nbgrader's gradebook records it, and what each student submitted.

The class list is stored as nbgrader students (id, first and last name, email, and the Canvas
user id in `lms_user_id`), so formgrader shows names and every student appears in the report
and the exports, including those who submitted nothing. `submission_status` says, for each
student and module, what there is: "submitted", "no submission", or the reason a submission
was flagged (such as "not imported from the LMS: not a notebook: essay.docx"); and how it
stands against the module's due date ("on time", "late by 2 days", "within extension", "late
(Canvas)", `deadlines.timing`) with the late penalty nbgrader recorded, in points.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from nbgrader.api import Gradebook, MissingEntry

from digiready.course.paths import CourseLayout
from digiready.grading.deadlines import folder_timing, granted, timing
from digiready.grading.gradebook_records import COMMENT_PREFIX, ITEM
from digiready.grading.submission_checks import CANVAS_LATE
from digiready.lms.class_list import Person

SUBMITTED = "submitted"
NO_SUBMISSION = "no submission"
NOT_GRADED_YET = "submitted, not graded yet"
STATUS_COLUMNS = ["student", "name", "module", "status", "deadline", "penalty"]


def record_students(db_url: str, people: Iterable[Person]) -> int:
    """Add or update these students in the gradebook (names, email, Canvas id); a blank field
    never overwrites a known one. Returns how many were recorded."""
    count = 0
    with Gradebook(db_url) as gradebook:
        for person in people:
            fields = {
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "lms_user_id": person.lms_user_id,
            }
            gradebook.update_or_create_student(
                person.student_id, **{key: value for key, value in fields.items() if value}
            )
            count += 1
    return count


def read_roster(db_url: str) -> dict[str, Person]:
    """Every student in the gradebook, by id (those from the class list and those who were
    graded), with what it knows of them."""
    with Gradebook(db_url) as gradebook:
        return {
            str(student.id): Person(
                str(student.id),
                student.first_name or "",
                student.last_name or "",
                student.email or "",
                student.lms_user_id or "",
            )
            for student in gradebook.students
        }


def _reasons(notebook: object) -> str:
    """The reasons digiready recorded for a flagged submission notebook, joined."""
    for comment in sorted(getattr(notebook, "comments", []), key=lambda c: c.name):
        text = comment.auto_comment or ""
        if COMMENT_PREFIX in text:
            return "; ".join(text.split(COMMENT_PREFIX, 1)[1].split(ITEM)[1:])
    return ""


def submission_status(db_url: str, root: Path, modules: Iterable[str]) -> pd.DataFrame:
    """Per gradebook student and module set so far (a due date, or anything handed in): their
    name, the submission's status, how it stands against the due date and the late penalty
    (points)."""
    roster = read_roster(db_url)
    extensions = granted(root)
    rows = []
    with Gradebook(db_url) as gradebook:
        for module in modules:
            submissions = {str(s.student_id): s for s in gradebook.assignment_submissions(module)}
            try:
                due = gradebook.find_assignment(module).duedate
            except MissingEntry:
                due = None
            if not (submissions or due or any(CourseLayout(root).submitted.glob(f"*/{module}"))):
                continue  # not set yet (no due date, nothing handed in): nobody is missing it
            for student_id, person in sorted(roster.items()):
                submission = submissions.get(student_id)
                folder = CourseLayout(root).submission(student_id, module)
                penalty = 0.0
                if submission is None:
                    status = NOT_GRADED_YET if folder.is_dir() else NO_SUBMISSION
                    extension = extensions.get((student_id, module))
                    when = folder_timing(folder, due, extension) if folder.is_dir() else ""
                else:
                    flagged = [n for n in submission.notebooks if n.flagged]
                    status = (_reasons(flagged[0]) or "flagged") if flagged else SUBMITTED
                    penalty = float(submission.late_submission_penalty or 0.0)
                    when = timing(due, submission.extension, submission.timestamp,
                                  (folder / CANVAS_LATE).is_file(), penalty)
                rows.append((student_id, person.name, module, status, when, penalty))
    return pd.DataFrame(rows, columns=STATUS_COLUMNS).astype(
        {column: object for column in STATUS_COLUMNS if column != "penalty"}
    )
