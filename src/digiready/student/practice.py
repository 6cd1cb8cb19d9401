"""Practice questions: ungraded, with feedback: one choice (a widget), or a count the student
works out with pandas (a check function)."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

import pandas as pd

from digiready.course.scenario import Choice, Scenario, Step
from digiready.student.scenario_view import NotInGrading, ScenarioView, grading_kernel

# An author's own verdict at the start of a feedback text ("Right: ..."), which would repeat ours.
_OWN_VERDICT = re.compile(r"^\s*(?:right|correct|yes|no|not quite|wrong)\s*[:.,!]\s*", re.I)


def _without_verdict(text: str) -> str:
    """`text` without a leading verdict of its own, first letter capitalised."""
    rest = _OWN_VERDICT.sub("", text, count=1)
    return rest[:1].upper() + rest[1:] if rest != text else text


def practice_question(
    question: str, options: dict[str, str], correct: str
) -> ScenarioView | NotInGrading:
    """A one-step widget: `options` maps each option to the feedback it earns.

    The option named by `correct` gets "Yes." before its feedback, the others "Not quite.",
    so the verdict is in words, never in colour alone (a verdict the feedback already starts
    with, such as "Right:", is dropped so it is not said twice).
    """
    if correct not in options:
        raise ValueError(f"practice question {question!r}: {correct!r} is not one of the options")
    choices = [
        Choice(label=label, feedback=f"**{'Yes.' if label == correct else 'Not quite.'}** "
                                 f"{_without_verdict(text)}")
        for label, text in options.items()
    ]
    if grading_kernel():
        return NotInGrading("Practice question")
    step = Step(id="practice", text="", question=question, choices=choices)
    # Options stay in the author's order (often a fixed list such as the 4 Cs), unshuffled.
    return ScenarioView(Scenario(id="practice", title="Practice", steps=[step]), shuffle=False)


def count_feedback(answer: object, table: pd.DataFrame, conditions: Mapping[str, str]) -> str:
    """Feedback on a practice count of the rows of `table` that meet every condition
    (column == value): right, or what the answer shows and what to change. Never raises."""
    if answer is Ellipsis:
        return "Replace the three dots `...` with your expression, then run the cell again."
    named = " and ".join(f'`{column}` is "{value}"' for column, value in conditions.items())
    every = _every_condition(len(conditions))
    if isinstance(answer, pd.DataFrame):
        return (f"That is a table of {len(answer)} rows, not a number. Put `len(` before it and "
                "`)` after it to count its rows.")
    if isinstance(answer, pd.Series):
        return (f"That is a column or a set of counts, not one number. Filter the table with "
                f"{every}, then count the rows with `len(...)`.")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return (f"Your answer is {type(answer).__name__} {answer!r}: write a number, or a "
                "`len(...)` expression that works one out.")
    expected = len(table[_all_true(table, conditions)])
    if answer == expected:
        rows = "1 row meets" if expected == 1 else f"{expected} rows meet"
        return f"**Yes.** {rows} {every}: {named}."
    if answer == 0:
        return ("No rows matched. Check the spelling and capitals of each value inside the quotes, "
                "and the double equals sign `==`.")
    for column in conditions:
        if answer == len(table[table[column] == conditions[column]]):
            others = "other condition" if len(conditions) == 2 else "other conditions"
            return (f"**Not quite.** That counts the rows where only `{column}` matches: add the "
                    f"{others} with `&`, each condition in its own round brackets.")
    if answer == len(table):
        return "**Not quite.** That is every row: the filter is missing."
    return (f"**Not quite.** Keep the rows where {named}, each condition in round brackets joined "
            "with `&`, then count them with `len(...)`.")


def _every_condition(count: int) -> str:
    """"the condition", "both conditions" or "all N conditions", as the count requires."""
    if count == 1:
        return "the condition"
    return "both conditions" if count == 2 else f"all {count} conditions"


def _all_true(table: pd.DataFrame, conditions: Mapping[str, str]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for column, value in conditions.items():
        keep &= table[column] == value
    return keep


def check_count_practice(
    answer: object, table: pd.DataFrame, conditions: Mapping[str, str]
) -> None:
    """Print feedback on an ungraded counting practice (see `count_feedback`)."""
    print(count_feedback(answer, table, conditions).replace("**", ""))
