"""`digiready demo`: a whole lecturer's workflow on a synthetic cohort, in a demo course folder.

It copies the course into the folder, writes submissions for a synthetic cohort (plus two
reference students: the model solution and the untouched release) with their submission times,
sets each module's due date and grants one late student an extension, grades every complete
module with `digiready grade`, enters a few manual grades for reflections, writes the readiness
report and the LMS exports (late and extended work shown), and returns where they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from digiready.course.curriculum import load_curriculum
from digiready.course.items import graded_items, read_notebook
from digiready.course.paths import SOURCE_DIR, CourseLayout
from digiready.data.synthetic_cohort import (
    DEADLINE,
    SyntheticStudent,
    cohort,
    write_submissions,
)
from digiready.grading.autograde import prepare_course, submit
from digiready.grading.cohort_grading import KernelMode, Outcome, grade_cohort
from digiready.grading.deadlines import (
    Extension,
    assess_late_penalties,
    record_extensions,
    set_due_date,
    to_utc,
)
from digiready.grading.nbgrader_run import gradebook_url
from digiready.grading.sandbox import sandbox_problem
from digiready.lms.export import export_grades
from digiready.lms.roster import submission_status
from digiready.reporting.answers import cohort_answers, cohort_self_ratings
from digiready.reporting.cohort_scores import load_scores
from digiready.reporting.report import write_report

REFERENCE_STUDENTS = {"demo-solution": "solutions", "demo-untouched": "assignments"}


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and how grading went per module."""

    root: Path
    report: Path
    exports: list[Path]
    outcomes: dict[str, list[Outcome]]
    sandbox_problem: str | None  # why grading ran without the sandbox, or None if it ran in it


def _enter_manual_grades(
    root: Path, layout: CourseLayout, module: str, students: list[SyntheticStudent]
) -> None:
    """Mark the written answers of the first third of the cohort, in line with their ability."""
    manual = [
        item
        for item in graded_items(read_notebook(layout.module_notebook(layout.source, module)))
        if item.kind == "manual"
    ]
    with Gradebook(gradebook_url(root)) as gradebook:
        for student in students[: max(1, len(students) // 3)]:
            for item in manual:
                grade = gradebook.find_grade(item.grade_id, module, module, student.student_id)
                grade.manual_score = round(item.points * student.ability)
                grade.needs_manual_grade = False  # as formgrader does when a mark is saved
        gradebook.db.commit()


def run_demo(
    layout: CourseLayout,
    root: Path,
    size: int = 40,
    workers: int = 2,
    on_done: Callable[[Outcome], None] | None = None,
) -> DemoResult:
    """Build the demo course in `root` (made afresh) and run the lecturer's workflow in it."""
    curriculum = load_curriculum(layout.curriculum)
    modules = [module.id for module in curriculum.complete_modules]
    if root.exists():
        shutil.rmtree(root)
    prepare_course(layout, modules, root)
    shutil.copy(layout.curriculum, root / SOURCE_DIR / layout.curriculum.name)
    students = cohort(size)
    for module_id in modules:
        set_due_date(gradebook_url(root), module_id, to_utc(DEADLINE))
    late = [student.student_id for student in students if student.late]
    if len(late) > 1:  # the second late student was granted two more days
        record_extensions(root, [Extension(late[1], module_id, extra_days=2)
                                 for module_id in modules])
    # the demo's submissions are our own synthetic ones: sandbox them where possible
    problem = sandbox_problem()
    kernels: KernelMode = "sandboxed" if problem is None else "forked"
    outcomes = {}
    for module in curriculum.complete_modules:
        release = layout.module_notebook(layout.release, module.id)
        solution = layout.module_notebook(layout.solutions, module.id)
        write_submissions(root, module.id, release, solution, students)
        for student, kind in REFERENCE_STUDENTS.items():
            submit(root, module.id, student, layout.module_notebook(layout.root / kind, module.id))
        outcomes[module.id] = grade_cohort(
            root, module.id, workers=workers, on_done=on_done, kernels=kernels
        )
        _enter_manual_grades(root, layout, module.id, students)
        assess_late_penalties(root, module.id)  # on the manual marks too
    demo_layout = CourseLayout(root)
    scores = load_scores(gradebook_url(root), demo_layout, modules)
    statuses = submission_status(gradebook_url(root), root, modules)
    keys = list(zip(statuses["student"], statuses["module"], strict=True))
    autograded = demo_layout.autograded
    report = write_report(
        scores,
        curriculum,
        demo_layout.report,
        self_ratings=cohort_self_ratings(autograded, [c.id for c in curriculum.capabilities]),
        answers=cohort_answers(autograded, modules),
        statuses=statuses,
        references=list(REFERENCE_STUDENTS),
        cohort="Demo cohort (synthetic)",
    )
    exports = [
        export_grades(
            scores, curriculum, fmt, demo_layout.exports / f"grades-{fmt}.csv",
            statuses=dict(zip(keys, statuses["status"], strict=True)),
            deadlines=dict(zip(keys, statuses["deadline"], strict=True)),
            penalties=dict(zip(keys, statuses["penalty"], strict=True)),
        )
        for fmt in ("csv", "moodle", "canvas")
    ]
    return DemoResult(root, report, exports, outcomes, problem)
