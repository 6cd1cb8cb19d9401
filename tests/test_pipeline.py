"""Through nbgrader end to end on the fixture module: solution full marks, release zero,
feedback without hidden tests or model answers."""

from __future__ import annotations

import math
from pathlib import Path

from nbgrader.converters import GenerateFeedback

from conftest import FIXTURE
from digiready.course.paths import CourseLayout
from digiready.grading.autograde import grade_notebooks
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, gradebook_url, run_converter
from digiready.reporting.cohort_scores import load_scores


def test_solution_full_release_zero_and_clean_feedback(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    layout = built_fixture_course
    root = tmp_path / "grading"
    grade_notebooks(
        layout,
        FIXTURE,
        {
            "0012345": layout.module_notebook(layout.solutions, FIXTURE),
            "untouched": layout.module_notebook(layout.release, FIXTURE),
        },
        root,
    )
    table = load_scores(gradebook_url(root), layout, [FIXTURE]).set_index(["student", "grade_id"])
    assert table.loc[("0012345", "m99_q1_1_test"), "score"] == 2.0
    assert table.loc[("0012345", "m99_q1_2_test"), "score"] == 3.0
    assert table.loc[("0012345", "m99_reflection"), "needs_manual_grade"]
    assert math.isnan(table.loc[("0012345", "m99_reflection"), "score"]), "pending, not 0"
    assert table.loc[("untouched", "m99_q1_1_test"), "score"] == 0.0
    assert table.loc[("untouched", "m99_q1_2_test"), "score"] == 0.0
    assert table.loc[("untouched", "m99_reflection"), "score"] == 0.0
    assert table.loc[("0012345", "m99_q1_2_test"), "capability"] == "practice.online_safeguarding"

    run_converter(GenerateFeedback, course_config(root / CONFIG_FILE, root), FIXTURE, "untouched")
    feedback = (root / "feedback" / "untouched" / FIXTURE / f"{FIXTURE}.html").read_text()
    assert "Question 1.1: 0 of 2 points" in feedback  # the result in our words, not test output
    for hidden in (
        "HIDDEN TESTS",
        "score_choice",
        "sys.modules",
        "Model answer",
        "most recent call last",
        "answer_format.py",
    ):
        assert hidden not in feedback
