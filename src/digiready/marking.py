"""Scoring helpers for hidden tests.

Each function takes the student's answer and the expected answer (written in the hidden test,
never stored here) and returns the points earned as a float between 0 and `points`. They never
raise on a wrong answer: a wrong type or shape scores 0. Types are checked exactly (`type(x) is
str`, not `isinstance`), so an object that claims to equal everything scores nothing.

The marks that count are decided by the grader in its own process
(`digiready.grading.trusted_marking` applies these functions to the answer read from the answer
cell); the hidden tests call the same functions in the student's kernel, so that plain nbgrader
gives the same marks and the grader can tell when a kernel's run claims more than the written
answers earn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def _capped(earned: float, points: float) -> float:
    return round(min(max(earned, 0.0), points), 2)


def _letter(value: Any) -> str | None:
    """A letter answer normalised to lower case, or None when it is not a plain str."""
    if type(value) is not str:
        return None
    return str.lower(str.strip(value))


# Exact types only (a subclass could redefine comparison): Python's numbers, and the numpy
# scalars that pandas gives for len(), sums, means and counts.
NUMBER_TYPES = (int, float, np.int64, np.int32, np.float64, np.float32)


def _is_number(value: Any) -> bool:
    return type(value) in NUMBER_TYPES


def score_choice(answer: Any, correct: str, points: float) -> float:
    """Full points when `answer` is the single letter `correct`, else 0."""
    return float(points) if _letter(answer) == correct else 0.0


def score_choices(answer: Any, correct: set[str], allowed: str, points: float) -> float:
    """Choose-all-that-apply with partial credit.

    Each right letter chosen earns a share of the points, each wrong letter chosen takes one
    share away, so ticking everything or nothing earns 0.
    """
    if type(answer) not in (set, frozenset):
        return 0.0
    letters = [_letter(item) for item in answer]
    if any(letter is None or letter not in allowed for letter in letters):
        return 0.0
    chosen = set(letters)
    hits = len(chosen & correct)
    misses = len(chosen - correct)
    return _capped(points * (hits - misses) / len(correct), points)


def score_order(answer: Any, correct: Sequence[str], points: float) -> float:
    """Put-in-order with partial credit: the share of items in their right place.

    The answer must be a list holding exactly the expected items (as letters or words).
    """
    if type(answer) is not list or len(answer) != len(correct):
        return 0.0
    items = [_letter(item) for item in answer]
    if any(item is None for item in items) or sorted(map(str, items)) != sorted(correct):
        return 0.0
    in_place = sum(1 for given, expected in zip(items, correct, strict=True) if given == expected)
    return _capped(points * in_place / len(correct), points)


def score_matches(answer: Any, correct: Mapping[str, str], points: float) -> float:
    """Match cases to categories (a dict): an equal share of the points per right match."""
    if type(answer) is not dict:
        return 0.0
    right = 0
    for key, value in answer.items():
        case = _letter(key)
        if case is not None and case in correct and _letter(value) == correct[case]:
            right += 1
    return _capped(points * right / len(correct), points)


def score_number(answer: Any, correct: float, points: float, tolerance: float = 0.0) -> float:
    """Full points when `answer` is a plain number within `tolerance` of `correct`."""
    if not _is_number(answer):
        return 0.0
    return float(points) if abs(float(answer) - correct) <= tolerance else 0.0


def score_counts(answer: Any, correct: Mapping[str, int], points: float) -> float:
    """Counts per category, given as a pandas Series (e.g. from value_counts) or a dict.

    An equal share of the points per category whose count is right; extra categories with a
    count above 0 cost one share each.
    """
    if type(answer) is pd.Series:
        counts: dict[Any, Any] = {key: int(value) for key, value in answer.items()}
    elif type(answer) is dict:
        counts = dict(answer)
    else:
        return 0.0
    right = 0
    extra = 0
    for key, value in counts.items():
        category = _letter(key)
        if not _is_number(value):
            return 0.0
        if category is not None and category in correct and value == correct[category]:
            right += 1
        elif category not in correct and value > 0:
            extra += 1
    return _capped(points * (right - extra) / len(correct), points)


def score_self_audit(answer: Any, capabilities: Sequence[str], points: float) -> float:
    """Completion: an equal share of the points per capability rated (now, needed) with two
    whole numbers from 1 to 4."""
    if type(answer) is not dict:
        return 0.0
    rated = sum(
        1
        for key, value in answer.items()
        if type(key) is str and key in capabilities and type(value) is tuple and len(value) == 2
        and all(type(level) is int and 1 <= level <= 4 for level in value)
    )
    return _capped(points * rated / len(capabilities), points)


def score_cpd_plan(answer: Any, capabilities: Sequence[str], points: float) -> float:
    """Completion: a third of the points per entry (up to three) naming a known capability with
    a non-blank action and evidence."""
    if type(answer) is not list:
        return 0.0
    complete = 0
    for entry in answer:
        if type(entry) is not dict:
            continue
        capability = entry.get("capability")
        texts = [entry.get("action"), entry.get("evidence")]
        if type(capability) is str and capability in capabilities and all(
            type(text) is str and str.strip(text) != "" for text in texts
        ):
            complete += 1
    return _capped(points * min(complete, 3) / 3, points)
