"""Readiness from a tidy score table: the level rule at its boundaries, module scores, item
analysis (with answers read from autograded-like notebooks), follow-up lists and pathways."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from conftest import FIXTURE, STATEMENT_CAPABILITIES, fixture_cells
from digiready.authoring import cells as a
from digiready.course.curriculum import Curriculum
from digiready.course.items import graded_items
from digiready.reporting.answers import (
    BLANK,
    NOT_PYTHON,
    cohort_self_ratings,
    normalise,
    student_answers,
)
from digiready.reporting.cohort_scores import COLUMNS
from digiready.reporting.readiness import (
    confidence_vs_competence,
    filter_pathway,
    item_analysis,
    module_scores,
    not_yet_ready,
    pathway_capabilities,
    readiness_levels,
    weakest_capabilities,
)

SAFE = "practice.online_safeguarding"
LAW = "practice.law_and_regulation"
PENDING = math.nan


def row(
    student: str,
    grade_id: str,
    level: int | None,
    max_score: float,
    score: float,
    capability: str | None = SAFE,
    module: str = "09-online-safeguarding",
) -> dict[str, Any]:
    """One score-table row; a NaN score is a manual mark still pending."""
    pending = math.isnan(score)
    return {
        "student": student,
        "module": module,
        "grade_id": grade_id,
        "kind": "manual" if pending else "auto",
        "capability": capability,
        "level": level,
        "max_score": max_score,
        "score": score,
        "needs_manual_grade": pending,
    }


def table(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


# The level rule's other boundaries, tested with any amount of evidence accepted at a level.
ANY_EVIDENCE = {"min_items": 1, "min_points": 0.0}


def level_of(scores: pd.DataFrame, student: str = "s1", capability: str = SAFE, **kw: Any) -> Any:
    return readiness_levels(scores, **{**ANY_EVIDENCE, **kw}).loc[student, capability]


# ---------------------------------------------------------------- the level rule


def test_threshold_exactly_met_reaches_the_level() -> None:
    assert level_of(table(row("s1", "q1", 1, 5, 3))) == 1  # 3/5 = 60%
    assert level_of(table(row("s1", "q1", 1, 5, 2.99))) == 0
    # 0.55 * 100 is 55.00000000000001 in floating point: 55 of 100 must still meet 55%.
    assert level_of(table(row("s1", "q1", 1, 100, 55)), threshold=0.55) == 1


def test_levels_are_cumulative_over_lower_levels() -> None:
    strong_first = table(row("s1", "q1", 1, 2, 2), row("s1", "q2", 2, 3, 1))
    assert level_of(strong_first) == 2  # (2 + 1) / (2 + 3) = 60%
    weak_second = table(row("s1", "q1", 1, 2, 2), row("s1", "q2", 2, 3, 0))
    assert level_of(weak_second) == 1  # level 2 needs 3 of 5; level 1 alone is 2 of 2
    weak_first = table(row("s1", "q1", 1, 2, 0), row("s1", "q2", 2, 3, 3))
    assert level_of(weak_first) == 2  # 3 of 5 over levels 1-2, though level 1 alone is 0 of 2
    three = table(row("s1", "q1", 1, 2, 2), row("s1", "q2", 2, 2, 2), row("s1", "q3", 3, 6, 1))
    assert level_of(three) == 2  # level 3 needs 6 of 10 over levels 1-3; 5 earned


def test_a_level_needs_evidence_at_that_level() -> None:
    only_level_one = table(row("s1", "q1", 1, 4, 4))
    assert level_of(only_level_one) == 1
    gap = table(row("s1", "q1", 1, 2, 2), row("s1", "q3", 3, 2, 2))
    assert level_of(gap) == 3  # no level-2 item: level 3 is judged on levels 1-3 together


def test_a_level_is_claimed_only_on_two_items_and_four_points_at_it() -> None:
    one_item = table(row("s1", "q1", 2, 4, 4, capability=LAW), row("s1", "q2", 1, 2, 0))
    assert readiness_levels(one_item).loc["s1", LAW] == 0  # one 4-point item is not enough
    two_small = table(row("s1", "q1", 2, 1, 1), row("s1", "q2", 2, 2, 2))
    assert readiness_levels(two_small).loc["s1", SAFE] == 0  # two items, 3 points
    enough = table(row("s1", "q1", 2, 2, 2), row("s1", "q2", 2, 2, 2))
    assert readiness_levels(enough).loc["s1", SAFE] == 2
    thin_top = table(row("s1", "a", 1, 2, 2), row("s1", "b", 1, 2, 2), row("s1", "c", 3, 6, 6))
    assert readiness_levels(thin_top).loc["s1", SAFE] == 1  # level 3 rests on one item
    assert readiness_levels(thin_top, min_items=1).loc["s1", SAFE] == 3


def test_pending_manual_marks_count_neither_earned_nor_available() -> None:
    pending = table(
        row("s1", "q1", 1, 2, 2), row("s1", "q2", 2, 3, 2), row("s1", "reflection", 3, 10, PENDING)
    )
    assert level_of(pending) == 2
    low_pending = table(row("s1", "q1", 2, 5, 3), row("s1", "reflection", 2, 20, PENDING))
    assert level_of(low_pending) == 2  # the 20 unmarked points do not drag 3/5 below 60%
    marked = pending.assign(score=pending["score"].fillna(10))
    assert level_of(marked) == 3


def test_not_assessed_is_na_and_distinct_from_zero() -> None:
    scores = table(
        row("s1", "q1", 1, 2, 0),
        row("s2", "q1", 1, 2, 2),
        row("s2", "q9", 1, 2, 1, capability=LAW),
        row("s3", "reflection", 2, 5, PENDING),
        row("s1", "untagged", None, 2, 2, capability=None),
    )
    levels = readiness_levels(scores, **ANY_EVIDENCE)
    assert list(levels.columns) == [LAW, SAFE]
    assert list(levels.index) == ["s1", "s2", "s3"]
    assert levels.loc["s1", SAFE] == 0
    assert levels.loc["s2", SAFE] == 1
    assert pd.isna(levels.loc["s1", LAW])  # no item at all
    assert pd.isna(levels.loc["s3", SAFE])  # only a pending item: nothing marked yet
    assert str(levels.dtypes[SAFE]) == "Int64"


# ---------------------------------------------------------------- module scores


def test_module_scores_leave_pending_marks_out_and_count_them() -> None:
    scores = table(
        row("s1", "q1", 1, 2, 2),
        row("s1", "q2", 2, 3, 1),
        row("s1", "reflection", 3, 5, PENDING),
        row("s1", "x", 1, 4, 4, module="10-data"),
        row("s2", "reflection", 3, 5, PENDING),
    )
    result = module_scores(scores).set_index(["student", "module"])
    first = result.loc[("s1", "09-online-safeguarding")]
    assert (first["earned"], first["available"], first["pending_manual"]) == (3, 5, 1)
    assert first["percent"] == pytest.approx(60.0)
    assert result.loc[("s1", "10-data"), "percent"] == pytest.approx(100.0)
    assert math.isnan(result.loc[("s2", "09-online-safeguarding"), "percent"])
    assert list(module_scores(scores).columns) == [
        "student",
        "module",
        "earned",
        "available",
        "percent",
        "pending_manual",
    ]


# ---------------------------------------------------------------- item analysis


def _cohort() -> pd.DataFrame:
    """Ten students of rising strength: "key" is right for the strong half, "upside" for the
    weak half only; "anchor" rises with strength; "flat" everyone gets right."""
    rows = []
    for rank in range(10):
        student = f"s{rank:02d}"
        strong = rank >= 5
        rows += [
            row(student, "anchor", 1, 10, rank),
            row(student, "other", 1, 10, rank),
            row(student, "key", 2, 2, 2 if strong else 0),
            row(student, "upside", 2, 2, 0 if strong else 2),
            row(student, "flat", 1, 1, 1),
        ]
    return table(*rows)


def test_discrimination_is_positive_when_strong_students_get_the_item_right() -> None:
    items = item_analysis(_cohort()).set_index("grade_id")
    assert items.loc["key", "discrimination"] > 0.5
    assert items.loc["upside", "discrimination"] < -0.5
    assert math.isnan(items.loc["flat", "discrimination"])  # no variation: undefined
    assert items.loc["key", "facility"] == pytest.approx(0.5)
    assert items.loc["flat", "facility"] == pytest.approx(1.0)
    assert items.loc["key", "n"] == 10
    assert list(items.columns[:7]) == [
        "module",
        "capability",
        "level",
        "max",
        "n",
        "facility",
        "discrimination",
    ]


def test_discrimination_leaves_the_item_out_of_the_rest_total() -> None:
    # Only two items: the rest total is the other item, so the correlation is between them.
    scores = table(
        *(row(f"s{i}", "a", 1, 1, i % 2) for i in range(6)),
        *(row(f"s{i}", "b", 1, 1, i % 2) for i in range(6)),
    )
    assert item_analysis(scores).set_index("grade_id").loc["a", "discrimination"] == (
        pytest.approx(1.0)
    )


def test_item_analysis_counts_pending_items_out() -> None:
    scores = table(row("s1", "reflection", 3, 5, PENDING), row("s2", "reflection", 3, 5, 4))
    item = item_analysis(scores).iloc[0]
    assert item["n"] == 1
    assert item["facility"] == pytest.approx(0.8)


def _student_notebook(answers: dict[str, str]) -> Any:
    """The fixture module with each answer cell's source replaced (as a student would)."""
    cells = fixture_cells()
    for cell in cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return a.notebook(cells)


def _write_autograded(root: Path, student: str, answers: dict[str, str]) -> Path:
    path = root / student / FIXTURE / f"{FIXTURE}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(_student_notebook(answers), path)
    return path


ANSWERS = {
    "0012345": {"m99_q1_1": 'answer_1_1 = "b"', "m99_q1_2": 'answer_1_2 = {"a", "c"}'},
    "s2": {"m99_q1_1": 'answer_1_1 = "C"', "m99_q1_2": 'answer_1_2 = {"c"}'},
    "s3": {"m99_q1_1": "answer_1_1 = 'c '", "m99_q1_2": 'answer_1_2 = {"c", "A", "d"}'},
    "s4": {"m99_q1_1": "answer_1_1 = ...", "m99_q1_2": "answer_1_2 = {'d', 'a', 'c'}"},
    "s5": {"m99_q1_1": '# my answer\nanswer_1_1 = "a"', "m99_q1_2": "answer_1_2 = {'c',}"},
}
MARKS = {  # (q1.1 of 2, q1.2 of 3)
    "0012345": (2, 3),
    "s2": (0, 1.5),
    "s3": (0, 2),
    "s4": (0, 2),
    "s5": (0, 1.5),
}


def test_student_answers_read_normalised_answers_by_test_id(tmp_path: Path) -> None:
    for student, answers in ANSWERS.items():
        _write_autograded(tmp_path, student, answers)
    found = student_answers(tmp_path, FIXTURE)
    assert list(found.columns) == ["student", "module", "grade_id", "answer"]
    lookup = found.set_index(["student", "grade_id"])["answer"]
    assert lookup[("0012345", "m99_q1_1_test")] == "'b'"
    assert lookup[("s2", "m99_q1_1_test")] == lookup[("s3", "m99_q1_1_test")] == "'c'"
    assert lookup[("s4", "m99_q1_1_test")] == BLANK
    assert lookup[("s3", "m99_q1_2_test")] == lookup[("s4", "m99_q1_2_test")] == "{'a', 'c', 'd'}"
    assert set(found["grade_id"]) == {"m99_q1_1_test", "m99_q1_2_test"}  # no reflection


def test_wrong_answer_counts_from_autograded_notebooks(tmp_path: Path) -> None:
    for student, answers in ANSWERS.items():
        _write_autograded(tmp_path, student, answers)
    scores = table(
        *(
            row(student, grade_id, level, points, mark, module=FIXTURE)
            for student, (first, second) in MARKS.items()
            for grade_id, level, points, mark in (
                ("m99_q1_1_test", 1, 2, first),
                ("m99_q1_2_test", 2, 3, second),
            )
        )
    )
    items = item_analysis(scores, student_answers(tmp_path, FIXTURE)).set_index("grade_id")
    choice = items.loc["m99_q1_1_test"]
    assert (choice["wrong_answer_1"], choice["wrong_count_1"]) == ("'c'", 2)
    assert {choice["wrong_answer_2"], choice["wrong_answer_3"]} == {"'a'", BLANK}
    assert choice["wrong_count_2"] == choice["wrong_count_3"] == 1
    choices = items.loc["m99_q1_2_test"]
    assert (choices["wrong_answer_1"], choices["wrong_count_1"]) == ("{'a', 'c', 'd'}", 2)
    assert (choices["wrong_answer_2"], choices["wrong_count_2"]) == ("{'c'}", 2)
    assert pd.isna(choices["wrong_answer_3"])


def test_a_broken_notebook_is_skipped_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_autograded(tmp_path, "good", ANSWERS["s2"])
    broken = tmp_path / "broken" / FIXTURE / f"{FIXTURE}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not json", encoding="utf-8")
    not_a_notebook = tmp_path / "odd" / FIXTURE / f"{FIXTURE}.ipynb"
    not_a_notebook.parent.mkdir(parents=True)
    not_a_notebook.write_text('{"cells": 3}', encoding="utf-8")
    (tmp_path / "no-submission").mkdir()
    with caplog.at_level(logging.WARNING, logger="digiready.reporting.answers"):
        found = student_answers(tmp_path, FIXTURE)
    assert set(found["student"]) == {"good"}
    assert str(broken) in caplog.text and str(not_a_notebook) in caplog.text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('answer = "B"', "'b'"),
        ("answer = ...", BLANK),
        ('answer = {"b", "A"}', "{'a', 'b'}"),
        ('answer = ["C", "a"]', "['c', 'a']"),  # order kept: it is marked
        ('answer = {"B": "Contact", "a": "content"}', "{'a': 'content', 'b': 'contact'}"),
        ("answer = 12.0", "12"),
        ("answer = 78.1", "78.1"),
        ("answer = set()", "set()"),
        ("answer: str = 'a'", "'a'"),
        ('answer = df[df["x"]=="Y"]["z"].value_counts()', "df[df['x'] == 'Y']['z'].value_counts()"),
        ('answer = "a"\nanswer = "b"', "'b'"),
        ('answer = "a', NOT_PYTHON),
        ("raise NotImplementedError()", "(no answer)"),
    ],
)
def test_answers_are_normalised_so_equal_answers_group(source: str, expected: str) -> None:
    assert normalise(source) == expected


def test_cohort_self_ratings_skip_malformed_audits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = "00-self-audit"
    for student, value in (("0012345", f'{{"{SAFE}": (1, 3)}}'), ("bad", '{"nope": (1, 3)}')):
        cells = [a.answer("m00_self_audit", f"self_audit = {value}")]
        path = tmp_path / student / module / f"{module}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(a.notebook(cells), path)
    with caplog.at_level(logging.WARNING, logger="digiready.reporting.answers"):
        ratings = cohort_self_ratings(tmp_path, [SAFE])
    assert ratings == {"0012345": {SAFE: (1, 3)}}
    assert "bad" in caplog.text


# ---------------------------------------------------------------- cohort views


def _levels() -> pd.DataFrame:
    return pd.DataFrame(
        {SAFE: [3, 1, 0, pd.NA], LAW: [2, pd.NA, 1, 4]},
        index=pd.Index(["s1", "s2", "s3", "s4"], name="student"),
        dtype="Int64",
    ).rename_axis(columns="capability")


def test_weakest_capabilities_mean_and_share_below_target() -> None:
    weakest = weakest_capabilities(_levels(), target_level=2).set_index("capability")
    assert list(weakest.index) == [SAFE, LAW]  # mean 4/3 before 7/3
    assert weakest.loc[SAFE, "assessed"] == 3
    assert weakest.loc[SAFE, "mean_level"] == pytest.approx(4 / 3)
    assert weakest.loc[SAFE, "below_target"] == 2
    assert weakest.loc[SAFE, "share_below_target"] == pytest.approx(2 / 3)
    assert weakest.loc[LAW, "share_below_target"] == pytest.approx(1 / 3)


def test_not_yet_ready_lists_which_capabilities_are_below_target() -> None:
    ready = not_yet_ready(_levels(), target_level=2)
    assert list(ready["student"]) == ["s3", "s2"]  # two below target before one
    first = ready.iloc[0]
    assert first["below_target"] == 2 and first["lowest_level"] == 0
    assert first["capabilities"] == f"{SAFE} (0); {LAW} (1)"
    assert ready.iloc[1]["not_assessed"] == LAW
    only_law = not_yet_ready(_levels(), target_level=2, pathway_capabilities=[LAW])
    assert list(only_law["student"]) == ["s3"]
    assert not_yet_ready(_levels(), target_level=0).empty


def test_confidence_vs_competence_flags_each_capability() -> None:
    ratings = {
        "s1": {SAFE: (4, 4), LAW: (2, 3)},
        "s3": {SAFE: (1, 2)},
        "s4": {SAFE: (2, 2)},
        "s9": {LAW: (1, 1)},
    }
    result = confidence_vs_competence(_levels(), ratings).set_index(["student", "capability"])
    assert result.loc[("s1", SAFE), "judgement"] == "over-confident"
    assert result.loc[("s1", SAFE), "difference"] == 1
    assert result.loc[("s1", LAW), "judgement"] == "matches"
    assert result.loc[("s3", SAFE), "judgement"] == "over-confident"
    assert result.loc[("s4", SAFE), "judgement"] == "not assessed"
    assert result.loc[("s9", LAW), "judgement"] == "not assessed"
    under = confidence_vs_competence(_levels(), {"s4": {LAW: (2, 4)}}).iloc[0]
    assert (under["self_rated"], under["needed"], under["assessed"]) == (2, 4, 4)
    assert (under["difference"], under["judgement"]) == (-2, "under-confident")


def test_pathway_filter_keeps_its_modules_and_capabilities(curriculum: Curriculum) -> None:
    scores = table(
        row("s1", "q1", 1, 2, 2, module="00-self-audit"),
        row("s1", "q2", 1, 2, 2, module="16-refresher-purpose"),
        row("s1", "q3", 1, 2, 2, module="15-capstone-case-study"),
    )
    kept = filter_pathway(scores, curriculum, "nqsw-refresher")
    assert list(kept["module"]) == ["00-self-audit", "16-refresher-purpose"]
    ids = [c.id for c in curriculum.capabilities]
    covered = pathway_capabilities(curriculum, "nqsw-refresher")
    assert covered == [c for c in ids if c in covered]  # curriculum order
    assert set(covered) <= set(ids)
    with pytest.raises(KeyError, match="qualifying"):
        filter_pathway(scores, curriculum, "no-such-pathway")


def test_completion_items_are_never_evidence() -> None:
    cells = [*fixture_cells(), a.completion_test("m99_plan_test", '"""Checks."""\n1', 2)]
    (plan,) = [i for i in graded_items(a.notebook(cells)) if i.grade_id == "m99_plan_test"]
    assert (plan.completion, plan.capability, plan.level, plan.kind) == (True, None, None, "auto")
    scores = table(row("s1", "q1", 1, 2, 2), row("s1", "q2", 1, 2, 2),
                   row("s1", "m99_plan_test", plan.level, 2, 2, capability=plan.capability))
    assert readiness_levels(scores).loc["s1", SAFE] == 1
    assert list(readiness_levels(scores).columns) == [SAFE]


QUALIFYING_CAPABILITIES = [*STATEMENT_CAPABILITIES, "cross.data_and_numeracy"]


@pytest.mark.parametrize("pathway", ["qualifying", "nqsw-refresher", "cpd"])
def test_pathway_capabilities_pinned(curriculum: Curriculum, pathway: str) -> None:
    """Every pathway's modules between them cover all twelve capabilities and the data skill, in
    curriculum order
    (an empty or reordered list would silently drop columns from pathway reports)."""
    assert pathway_capabilities(curriculum, pathway) == QUALIFYING_CAPABILITIES


def test_pathway_capabilities_are_only_those_its_modules_cover(curriculum: Curriculum) -> None:
    narrow = curriculum.model_copy(deep=True)
    chosen = next(p for p in narrow.pathways if p.id == "cpd")
    chosen.required[:] = ["09-online-safeguarding"]
    chosen.optional[:] = []
    expected = narrow.module("09-online-safeguarding").capabilities
    got = pathway_capabilities(narrow, "cpd")
    assert got and sorted(got) == sorted(expected)
    assert got == [c.id for c in curriculum.capabilities if c.id in expected]


def test_module_reliability_is_cronbachs_alpha() -> None:
    """Four students in a perfect Guttman pattern on three right/wrong items: KR-20 is 0.75
    (totals 3, 2, 1, 0: variance 5/3; item variances 1/4, 1/3, 1/4)."""
    from digiready.reporting.readiness import module_reliability

    pattern = {"a": [1, 1, 1], "b": [1, 1, 0], "c": [1, 0, 0], "d": [0, 0, 0]}
    scores = table(*[
        row(student, f"m09_q{i}_test", 1, 1.0, float(mark))
        for student, marks in pattern.items() for i, mark in enumerate(marks)
    ])
    result = module_reliability(scores).set_index("module").loc["09-online-safeguarding"]
    assert result["items"] == 3 and result["students_complete"] == 4
    assert result["alpha"] == pytest.approx(0.75)
