"""Marks decided outside the student's kernel: reading answers, the grammar of data answers,
rules read from the master, evaluation and its JSON round trip, and the reviewer's notes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import FIXTURE, REPO
from digiready.cli import app
from digiready.course.paths import CourseLayout
from digiready.grading.answer_eval import Unreadable, decode, encode, evaluate_all
from digiready.grading.autograde import prepare_course, submit
from digiready.grading.item_rules import Context, RuleError, parse_rule
from digiready.grading.trusted_marking import ItemMark, mark_answers, marking_notes, score_answer
from digiready.student.answer_reading import dataset_names, read_answer
from digiready.student.datasets import load

TABLES = {"referrals": "referrals"}
TEST_CELL = '''"""Checks the form of your answer to Question 1.1."""
check_matches(answer_1_1, "AB", ["x", "y"], "1.1")
### BEGIN HIDDEN TESTS
from digiready.marking import score_matches
score_matches(answer_1_1, {"a": "x", "b": "y"}, 4)
### END HIDDEN TESTS'''


@pytest.mark.parametrize(
    ("source", "kind", "value"),
    [
        ('answer_1_1 = "b"', "literal", "b"),
        ('# a comment\nanswer_1_1 = {"a", "c"}  # mine', "literal", {"a", "c"}),
        ('answer_1_1 = "a"\nanswer_1_1 = "c"', "literal", "c"),
        ("answer_1_1 = ...", "unanswered", None),
        ('x = "b"', "missing", None),
        ('answer_1_1 = "b', "unreadable", None),
        ('letter = "b"\nanswer_1_1 = letter', "unreadable", None),
        ('answer_1_1 = "".join(["b"])', "unreadable", None),
        ('if True:\n    answer_1_1 = "b"', "missing", None),
    ],
)
def test_answers_are_read_from_the_cell_text(source: str, kind: str, value: Any) -> None:
    answer = read_answer(source, "answer_1_1", TABLES)
    assert answer.kind == kind
    assert answer.value == value
    assert bool(answer.problem) == (kind in ("missing", "unreadable"))


@pytest.mark.parametrize(
    "expression",
    [
        'referrals[referrals["online_element"] == "yes"]["four_cs"].value_counts()',
        'len(referrals[(referrals["person_group"] == "adult") & (referrals["four_cs"] == "x")])',
        'referrals.groupby("four_cs").size()',
        'referrals.loc[referrals["four_cs"].isin(["contact", "content"]), "four_cs"].count()',
        "round(referrals['four_cs'].value_counts(normalize=True) * 100, 1)",
    ],
)
def test_data_expressions_in_the_grammar_are_accepted(expression: str) -> None:
    answer = read_answer(f"answer_5_1 = {expression}", "answer_5_1", TABLES)
    assert (answer.kind, answer.expression) == ("expression", expression)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ('referrals.query("four_cs == \'x\'")', ".query"),
        ("referrals.__class__", ".__class__"),
        ('referrals["x"].apply(print)', ".apply"),
        ('__import__("os")', "'__import__'"),
        ("[r for r in referrals]", "ListComp"),
        ("(lambda: 1)()", "not a named function"),
        ("open('/etc/passwd')", "'open'"),
        ("referrals.to_csv('x.csv')", ".to_csv"),
        ("len(*referrals)", "unpacks"),
        ("referrals['x'] ** 2", "operator"),
        ("referrals['x'] * 10000000000", "very large number"),
        ("pd", "'pd'"),
        ("'four' in referrals", "use .isin([...])"),
        ("len(referrals[referrals['x'] is not None])", "use == or !="),
    ],
)
def test_expressions_outside_the_grammar_are_refused(expression: str, why: str) -> None:
    answer = read_answer(f"answer_5_1 = {expression}", "answer_5_1", TABLES)
    assert answer.kind == "unreadable"
    assert why in answer.problem


def test_dataset_names_come_only_from_plain_load_calls() -> None:
    sources = ['referrals = load("referrals")\nx = 1', 'survey = load("practitioner_survey")',
               'other = load(name)', 'a, b = load("x"), load("y")', "not python ("]
    assert dataset_names(sources) == {"referrals": "referrals", "survey": "practitioner_survey"}


def test_a_rule_is_read_from_a_test_cell() -> None:
    rule = parse_rule(TEST_CELL, "m99_q1_1_test", 4)
    assert (rule.answer_cell, rule.answer_name, rule.points) == ("m99_q1_1", "answer_1_1", 4)
    assert rule.check is not None and rule.check.function == "check_matches"
    assert rule.check.arguments == ("AB", ["x", "y"], "1.1")
    assert rule.score.function == "score_matches"
    assert rule.score.arguments == ({"a": "x", "b": "y"}, 4)
    context = parse_rule(TEST_CELL.replace('"AB", ["x", "y"], "1.1"', "curriculum"), "m_test", 4)
    assert context.check is not None and context.check.arguments == (Context("curriculum"),)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.replace("### END HIDDEN TESTS", ""), "exactly one hidden-tests block"),
        (lambda s: s + "\nprint(1)", "nothing may follow"),
        (lambda s: s.replace("score_matches(answer_1_1", "x = 1\nscore_matches(answer_1_1"),
         "must be one call"),
        (lambda s: s.replace('"b": "y"}, 4)', '"b": "y"}, points)'), "is not a literal"),
        (lambda s: s.replace("score_matches(answer_1_1", "score_matches(answer_9_9"),
         "different names"),
        (lambda s: s.replace("score_matches(answer_1_1", "grade(answer_1_1"), "score_..."),
        (lambda s: s.replace("check_matches(answer_1_1", "print(answer_1_1"), "check_..."),
    ],
)
def test_test_cells_of_another_form_are_refused(change: Any, message: str) -> None:
    with pytest.raises(RuleError, match="test cell m99_q1_1_test") as raised:
        parse_rule(change(TEST_CELL), "m99_q1_1_test", 4)
    assert message in str(raised.value)


def test_a_failed_form_check_scores_zero_as_in_the_kernel() -> None:
    rule = parse_rule(TEST_CELL, "m99_q1_1_test", 4)
    assert score_answer(rule, {"A": "x", "B": "y"}) == 4
    assert score_answer(rule, {"A": "x", "B": "x"}) == 2
    assert score_answer(rule, {"A": "x"}) == 0, "score_matches alone would give 2"
    assert score_answer(rule, Unreadable("no")) == 0


def test_data_answers_are_evaluated_afresh_and_keep_their_types() -> None:
    expressions = {
        "counts": 'referrals[referrals["online_element"] == "yes"]["four_cs"].value_counts()',
        "rows": 'len(referrals[referrals["person_group"] == "adult"])',
        "total": '(referrals["person_group"] == "adult").sum()',
        "bad column": 'referrals["no such column"].value_counts()',
        "outside": "referrals.query('x')",
    }
    results = {key: decode(value) for key, value in evaluate_all(expressions, TABLES).items()}
    referrals = load("referrals")
    expected = referrals[referrals["online_element"] == "yes"]["four_cs"].value_counts()
    assert type(results["counts"]) is pd.Series
    pd.testing.assert_series_equal(results["counts"], expected)
    assert type(results["rows"]) is int
    assert results["rows"] == int((referrals["person_group"] == "adult").sum())
    assert type(results["total"]) is np.int64
    assert isinstance(results["bad column"], Unreadable)
    assert "KeyError" in results["bad column"].reason
    assert isinstance(results["outside"], Unreadable)


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "b", {"a", "c"}, ["c", "a"], ("x", 1), {"A": "s47"}, np.float64(0.25),
     pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})],
)
def test_values_survive_the_json_round_trip(value: Any) -> None:
    back = decode(encode(value))
    assert type(back) is type(value)
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(back, value)
    else:
        assert back == value or (back is None and value is None)


@pytest.mark.parametrize(
    "data",
    [{"t": "np", "dtype": "datetime64[ns]", "v": 1}, {"t": "py", "v": [1]}, {"t": "?"},
     {"nothing": 1}, "text", {"t": "series", "dtype": "int64", "index": [], "values": 3}],
)
def test_malformed_results_are_unreadable(data: Any) -> None:
    assert isinstance(decode(data), Unreadable)


def test_an_unsupported_result_is_unreadable() -> None:
    assert isinstance(decode(encode(object())), Unreadable)


def test_marks_come_from_the_answer_text_not_the_kernel() -> None:
    rule = parse_rule(TEST_CELL, "m99_q1_1_test", 4)

    def no_evaluation(expressions: dict[str, str], tables: dict[str, str]) -> dict[str, Any]:
        raise AssertionError("literals need no evaluation")

    marks = mark_answers({"m99_q1_1_test": rule}, {"m99_q1_1": 'answer_1_1 = {"A": "x", '
                                                    '"B": "y"}'}, {}, no_evaluation)
    assert marks["m99_q1_1_test"] == ItemMark("m99_q1_1_test", 4, 4)
    marks = mark_answers({"m99_q1_1_test": rule}, {"m99_q1_1": "answer_1_1 = mine"}, {},
                         no_evaluation)
    assert marks["m99_q1_1_test"].score == 0
    assert "'mine'" in marks["m99_q1_1_test"].problem


def test_notes_name_items_the_kernel_overstated_or_understated() -> None:
    marks = {"q1": ItemMark("q1", 0, 2), "q2": ItemMark("q2", 3, 3),
             "q3": ItemMark("q3", 0, 2, "it uses 'x'"), "q4": ItemMark("q4", 1, 2)}
    notes = marking_notes(marks, {"q1": 2.0, "q2": 0.0, "q3": 0.0, "q4": 1.0})
    assert notes[0].startswith("tampering suspected") and "q1 (2 in the notebook's run" in notes[0]
    assert "fewer marks" in notes[1] and "q2 (0 in the notebook's run, 3 by the grader)" in notes[1]
    assert notes[2] == "q3: answer not marked, it uses 'x'"
    assert len(notes) == 3
    assert marking_notes({"q4": ItemMark("q4", 1, 2)}, {"q4": 1.0}) == []


def test_grading_refuses_a_master_the_grader_cannot_mark(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    shutil.copy(built_fixture_course.curriculum, root / "course" / "curriculum.yml")
    submit(root, FIXTURE, "s1",
           built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE))
    master = root / "course" / FIXTURE / f"{FIXTURE}.ipynb"
    master.write_text(master.read_text(encoding="utf-8").replace(
        'score_choice(answer_1_1, \\"b\\", 2)', '2 if answer_1_1 == \\"b\\" else 0'),
        encoding="utf-8")
    os.chdir(root)
    try:
        result = CliRunner().invoke(app, ["grade", FIXTURE, "--workers", "1"])
    finally:
        os.chdir(REPO.root)
    assert result.exit_code == 2
    assert f"{master}: test cell m99_q1_1_test" in result.output.replace("\n", "")
    assert "Traceback" not in result.output
