"""Visible checks: guiding messages for missing or mis-shaped answers, silence on form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from digiready.student.answer_format import (
    AnswerFormatError,
    check_counts,
    check_dataframe,
    check_letter,
    check_letters,
    check_matches,
    check_number,
    check_order,
)
from kernel_harness import Kernel


def test_unanswered_says_replace_the_dots() -> None:
    with pytest.raises(AnswerFormatError, match=r"Question 2.1: not answered yet.*three dots"):
        check_letter(..., "abcd", "2.1")


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (lambda: check_letter(2, "abcd", "1"), "in quotes"),
        (lambda: check_letter("e", "abcd", "1"), 'one of "a"'),
        (lambda: check_letters(["a"], "abcd", "1"), "curly brackets"),
        (lambda: check_letters(set(), "abcd", "1"), "empty"),
        (lambda: check_letters({"a", "z"}, "abcd", "1"), "one of"),
        (lambda: check_order(("a", "b"), "ab", "1"), "square brackets"),
        (lambda: check_order(["a", "a"], "ab", "1"), "exactly once"),
        (lambda: check_matches(["x"], "AB", ["x"], "1"), "pairs"),
        (lambda: check_matches({"A": "x"}, "AB", ["x"], "1"), "each of A, B"),
        (lambda: check_matches({"A": "x", "B": "y"}, "AB", ["x"], "1"), "for B"),
        (lambda: check_number("78%", "1"), "plain number"),
        (lambda: check_number(True, "1"), "plain number"),
        (lambda: check_counts(3, ["a"], "1"), "value_counts"),
        (lambda: check_counts({"zz": 1}, ["a"], "1"), "right column"),
        (lambda: check_counts(pd.DataFrame({"a": [1]}), ["a"], "1"), "end it with .count()"),
        (lambda: check_counts({"": 1}, ["a"], "1"), "filter to the rows"),
        (lambda: check_dataframe({"a": 1}, ["a"], "1"), "DataFrame"),
        (lambda: check_dataframe(pd.DataFrame({"a": [1]}), ["a", "b"], "1"), "column"),
    ],
)
def test_guiding_messages(call: object, hint: str) -> None:
    with pytest.raises(AnswerFormatError, match=hint):
        call()  # type: ignore[operator]


def test_right_form_confirms(capsys: pytest.CaptureFixture[str]) -> None:
    check_letters({"A", "c"}, "abcd", "3.2")
    check_order(["b", "a"], "ab", "3.3")
    check_matches({"a": "Contact"}, "A", ["contact"], "3.4")
    check_number(78.5, "3.5")
    check_counts(pd.Series(["a", "a"]).value_counts(), ["a"], "3.6")
    check_dataframe(pd.DataFrame({"a": [1]}), ["a"], "3.7")
    check_number(pd.Series([1, 2]).sum(), "3.8")  # a numpy integer, as pandas gives it
    out = capsys.readouterr()
    assert out.out.count("right form") == 7
    assert out.err == ""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    started = Kernel(tmp_path_factory.mktemp("kernel"))
    started.run("from digiready.student.answer_format import check_letter, check_counts\n"
                "from digiready.student.datasets import load\nreferrals = load('referrals')")
    yield started
    started.close()


def _text(outputs: list[Any]) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in outputs)


@pytest.mark.parametrize(
    ("cells", "check", "expected"),
    [
        (['answer_1_1 = "b"'], 'check_letter(answer_1_1, "abc", "1.1")', "in the right form"),
        (['letter = "b"', "answer_1_1 = letter"], 'check_letter(answer_1_1, "abc", "1.1")',
         "the marker cannot read it: it uses 'letter'"),
        (['answer_5_1 = referrals["four_cs"].value_counts()'],
         'check_counts(answer_5_1, ["", "content", "contact", "conduct", "contract"], "5.1")',
         "in the right form"),
        (["counts = referrals['four_cs'].value_counts()\nanswer_5_1 = counts"],
         'check_counts(answer_5_1, ["", "content", "contact", "conduct", "contract"], "5.1")',
         "the marker cannot read it: it uses 'counts'"),
    ],
)
def test_the_check_says_when_the_marker_cannot_read_the_answer_cell(
    kernel: Kernel, cells: list[str], check: str, expected: str
) -> None:
    for cell in cells:
        kernel.run(cell)
    assert expected in _text(kernel.run(check))
