"""Hidden-test helpers: right answers score, wrong forms and impostor objects do not."""

from __future__ import annotations

import pandas as pd
import pytest

from digiready import marking


class AlwaysEqual:
    """An object that claims to equal, contain and match everything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __contains__(self, item: object) -> bool:
        return True

    def lower(self) -> AlwaysEqual:
        return self

    def strip(self) -> AlwaysEqual:
        return self


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class SneakySet(set):  # type: ignore[type-arg]
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


def test_score_choice_accepts_case_and_spaces() -> None:
    assert marking.score_choice(" B ", "b", 2) == 2.0
    assert marking.score_choice("a", "b", 2) == 0.0


@pytest.mark.parametrize("impostor", [AlwaysEqual(), SneakyStr("x"), 2, None, ["b"]])
def test_score_choice_rejects_impostors(impostor: object) -> None:
    assert marking.score_choice(impostor, "b", 2) == 0.0


def test_score_choices_partial_credit() -> None:
    assert marking.score_choices({"a", "c"}, {"a", "c"}, "abcd", 4) == 4.0
    assert marking.score_choices({"a"}, {"a", "c"}, "abcd", 4) == 2.0
    assert marking.score_choices({"a", "b"}, {"a", "c"}, "abcd", 4) == 0.0
    assert marking.score_choices({"a", "b", "c", "d"}, {"a", "c"}, "abcd", 4) == 0.0
    assert marking.score_choices(set(), {"a", "c"}, "abcd", 4) == 0.0


@pytest.mark.parametrize(
    "impostor",
    [AlwaysEqual(), SneakySet({"z"}), ["a", "c"], "ac", {SneakyStr("a"), "c"}, {"a", "c", "e"}],
)
def test_score_choices_rejects_impostors(impostor: object) -> None:
    assert marking.score_choices(impostor, {"a", "c"}, "abcd", 4) == 0.0


def test_score_order_share_in_place() -> None:
    assert marking.score_order(["a", "b", "c", "d"], ["a", "b", "c", "d"], 4) == 4.0
    assert marking.score_order(["a", "b", "d", "c"], ["a", "b", "c", "d"], 4) == 2.0
    assert marking.score_order(["a", "b", "c"], ["a", "b", "c", "d"], 4) == 0.0
    assert marking.score_order(["a", "a", "c", "d"], ["a", "b", "c", "d"], 4) == 0.0
    assert marking.score_order(("a", "b", "c", "d"), ["a", "b", "c", "d"], 4) == 0.0


def test_score_matches_per_key() -> None:
    correct = {"a": "contact", "b": "content"}
    assert marking.score_matches({"A": "Contact", "B": "content"}, correct, 2) == 2.0
    assert marking.score_matches({"A": "contact", "B": "conduct"}, correct, 2) == 1.0
    assert marking.score_matches({"a": AlwaysEqual(), "b": AlwaysEqual()}, correct, 2) == 0.0
    assert marking.score_matches(AlwaysEqual(), correct, 2) == 0.0


def test_score_number() -> None:
    assert marking.score_number(78, 78, 2) == 2.0
    assert marking.score_number(78.6, 78, 2, tolerance=1) == 2.0
    assert marking.score_number(80, 78, 2, tolerance=1) == 0.0
    assert marking.score_number("78", 78, 2) == 0.0
    assert marking.score_number(True, 1, 2) == 0.0
    assert marking.score_number(AlwaysEqual(), 78, 2) == 0.0


def test_score_number_takes_the_numbers_pandas_gives() -> None:
    """A mean, a sum or a count from pandas is a numpy scalar: marked like a Python number."""
    table = pd.DataFrame({"flagged": [1, 0, 1, 1]})
    assert marking.score_number(round(table["flagged"].mean() * 100, 1), 75.0, 2) == 2.0
    assert marking.score_number(table["flagged"].sum(), 3, 2) == 2.0
    assert marking.score_number(table["flagged"].sum(), 4, 2) == 0.0

    class Cheat(float):
        def __sub__(self, other: object) -> float:
            return 0.0

    assert marking.score_number(Cheat(1.0), 78, 2) == 0.0  # a subclass is not a number here


def test_score_counts_series_and_dict() -> None:
    correct = {"contact": 3, "content": 2}
    series = pd.Series(["contact", "contact", "contact", "content", "content"]).value_counts()
    assert marking.score_counts(series, correct, 4) == 4.0
    assert marking.score_counts({"contact": 3, "content": 1}, correct, 4) == 2.0
    unfiltered = pd.Series(["contact"] * 3 + ["content"] * 2 + ["none"]).value_counts()
    assert marking.score_counts(unfiltered, correct, 4) == 2.0
    assert marking.score_counts({"contact": AlwaysEqual(), "content": 2}, correct, 4) == 0.0
    assert marking.score_counts(AlwaysEqual(), correct, 4) == 0.0


def test_scores_never_exceed_points() -> None:
    assert marking.score_counts({"contact": 3, "content": 2}, {"contact": 3, "content": 2}, 1) <= 1
