"""The one import a module notebook uses: everything a student's notebook calls.

    from digiready.student import check_letter, install_help, load, show_scenario
    install_help()

All of this runs in the student's kernel, and so inside the grading sandbox. It imports nothing
from grading, reporting, the LMS tools or nbgrader (`tests/test_student_api.py` keeps it so), and
`digiready check` refuses a notebook that imports any other part of digiready (hidden tests
import their scoring helpers from `digiready.marking`, which the grader reads).
"""

from __future__ import annotations

from digiready.course.curriculum import course_curriculum
from digiready.student.answer_format import (
    check_counts,
    check_dataframe,
    check_letter,
    check_letters,
    check_matches,
    check_number,
    check_order,
)
from digiready.student.charts import show_figure
from digiready.student.datasets import load
from digiready.student.help import install as install_help
from digiready.student.practice import check_count_practice, practice_question
from digiready.student.scenario_view import show_scenario
from digiready.student.self_audit import (
    check_cpd_plan,
    check_self_audit,
    rating_form,
    save_cpd_plan,
    show_profile,
)

__all__ = [
    "check_count_practice",
    "check_counts",
    "check_cpd_plan",
    "check_dataframe",
    "check_letter",
    "check_letters",
    "check_matches",
    "check_number",
    "check_order",
    "check_self_audit",
    "course_curriculum",
    "install_help",
    "load",
    "practice_question",
    "rating_form",
    "save_cpd_plan",
    "show_figure",
    "show_profile",
    "show_scenario",
]
