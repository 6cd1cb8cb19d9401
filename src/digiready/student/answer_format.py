"""Visible checks: is an answer in the right *form*? They never say whether it is right.

Each check raises `AnswerFormatError` (an AssertionError, so nbgrader scores the cell 0) with a
guiding question, and prints a short confirmation when the form is fine. In IPython the error
shows as that one plain message, never a traceback (`_render_traceback_`); nbgrader still records
an error. A check first asks whether the answer cell's latest run failed (see
`digiready.student.help.last_run_failed`), so it never checks a value left from an earlier run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from digiready.student.answer_reading import dataset_names, read_answer
from digiready.student.help import answer_cell_error, last_run_failed, latest_source, plain_lines


class AnswerFormatError(AssertionError):
    """The answer is missing or not in the form the question asks for."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows: the guidance alone, in lines nbgrader's Validate shows whole."""
        return plain_lines(str(self))


def _fail(question: str, hint: str) -> None:
    __tracebackhide__ = True
    raise AnswerFormatError(f"Question {question}: {hint}")


def require_clean_run(name: str) -> None:
    """Fail when the latest run of the answer cell that sets `name` raised an error: the value
    in memory then comes from an earlier run, not from what the cell says now."""
    __tracebackhide__ = True
    if last_run_failed(name):
        raise AnswerFormatError(answer_cell_error(name))


def _require_answered(answer: Any, question: str) -> None:
    __tracebackhide__ = True
    require_clean_run("answer_" + question.replace(".", "_"))
    if answer is ...:
        _fail(
            question,
            "not answered yet. Replace the three dots (...) with your answer, "
            "run that cell, then run this one again.",
        )
    require_written_out(f"Question {question}", "answer_" + question.replace(".", "_"))


def written_answer_problem(name: str) -> str | None:
    """Why the marker could not read the answer cell that last set `name` in this IPython
    session (None when it can, or when this is not IPython): the marker reads what the cell
    says, never the value in the kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    history = getattr(shell, "user_ns", {}).get("In") if shell is not None else None
    if not isinstance(history, list):
        return None
    sources = [str(source) for source in history[:-1]]  # the last one is this check's cell
    tables = dataset_names(sources)
    for source in reversed(sources):
        if name in source:
            answer = read_answer(source, name, tables)
            if answer.kind != "missing":
                return answer.problem or None
    return None


def require_written_out(label: str, name: str) -> None:
    """Fail with guidance when the marker could not read the answer cell setting `name`."""
    __tracebackhide__ = True
    problem = written_answer_problem(name)
    if problem:
        raise AnswerFormatError(
            f"{label}: your answer is marked from what your answer cell says, and the marker "
            f"cannot read it: {problem}. Write the answer itself after `{name} =`, in the form "
            "the question shows."
        )


def _ok(question: str) -> None:
    print(f"Question {question}: your answer is in the right form. It is marked after you submit.")


def _letters_text(allowed: str) -> str:
    return ", ".join(f'"{letter}"' for letter in allowed)


def _joined_letters(items: Iterable[Any], allowed: str) -> str | None:
    """An item such as "cd" made of two or more allowed letters: Python joins "c" "d" into one
    text when the comma between them is missing."""
    for item in items:
        text = item.strip().lower() if isinstance(item, str) else ""
        if len(text) > 1 and all(letter in allowed for letter in text):
            return text
    return None


def _missing_comma(question: str, joined: str, brackets: str) -> None:
    __tracebackhide__ = True
    letters = ", ".join(f'"{letter}"' for letter in joined[:2])
    _fail(question, f"did you put a comma between the letters, like {brackets[0]}{letters}"
                    f"{brackets[1]}?")


def check_letter(answer: Any, allowed: str, question: str) -> None:
    """One letter in quotes, such as "b"."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    if not isinstance(answer, str):
        _fail(question, f'did you put the letter in quotes, like "{allowed[0]}"?')
    if answer.strip().lower() not in allowed:
        _fail(question, f"is your answer one of {_letters_text(allowed)}?")
    _ok(question)


def check_letters(answer: Any, allowed: str, question: str) -> None:
    """A set of letters in curly brackets, such as {"a", "c"}."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    if not isinstance(answer, set | frozenset):
        _fail(question, 'did you use curly brackets around your letters, like {"a", "c"}?')
    if not answer:
        _fail(question, "your set is empty: which options apply?")
    joined = _joined_letters(answer, allowed)
    if joined:
        _missing_comma(question, joined, "{}")
    for letter in answer:
        if not isinstance(letter, str) or letter.strip().lower() not in allowed:
            _fail(question, f"is each letter in quotes and one of {_letters_text(allowed)}?")
    _ok(question)


def check_order(answer: Any, items: Iterable[str], question: str) -> None:
    """A list in square brackets that uses every item exactly once."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    expected = sorted(items)
    if not isinstance(answer, list):
        _fail(question, 'did you use square brackets, like ["b", "a", ...]?')
    joined = _joined_letters(answer, "".join(expected))
    if joined:
        _missing_comma(question, joined, "[]")
    given = [item.strip().lower() if isinstance(item, str) else item for item in answer]
    if sorted(map(str, given)) != expected:
        _fail(question, f"did you use each of {_letters_text(''.join(expected))} exactly once?")
    _ok(question)


def check_matches(answer: Any, keys: Iterable[str], values: Iterable[str], question: str) -> None:
    """A dict that gives one of `values` for every one of `keys`."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    wanted_keys = sorted(keys)
    allowed_values = sorted(values)
    if not isinstance(answer, dict):
        _fail(question, 'did you use curly brackets with pairs, like {"A": "...", "B": "..."}?')
    given_keys = sorted(str(key).strip().lower() for key in answer)
    if given_keys != [key.lower() for key in wanted_keys]:
        _fail(question, f"did you give an answer for each of {', '.join(wanted_keys)}, once?")
    for key, value in answer.items():
        if not isinstance(value, str) or value.strip().lower() not in allowed_values:
            choices = ", ".join(f'"{v}"' for v in allowed_values)
            _fail(question, f"for {key}, is the answer in quotes and one of {choices}?")
    _ok(question)


def check_number(answer: Any, question: str) -> None:
    """A plain number, without quotes or a % sign."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.integer | np.floating):
        _fail(question, "is your answer a plain number, without quotes or a % sign?")
    _ok(question)


def check_counts(answer: Any, categories: Iterable[str], question: str) -> None:
    """Counts per category: a pandas Series (e.g. from value_counts()) or a dict of numbers."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    if isinstance(answer, pd.Series):
        answer = answer.to_dict()
    if isinstance(answer, pd.DataFrame):
        _fail(question, "that is a table: did you end it with .count() (entries in each column) "
                        "or .value_counts() (rows for each value), as the question asks?")
    if not isinstance(answer, dict):
        _fail(question, "did you end with .value_counts() or write a dict of counts?")
    allowed = set(categories)
    for key, value in answer.items():
        if str(key).strip().lower() not in allowed:
            _fail(question, _counts_hint(key, allowed, question))
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(question, f"is the count for {key!r} a number?")
    _ok(question)


def _counts_hint(key: Any, allowed: set[str], question: str) -> str:
    """Why a count's key is not a category: a blank (rows the question leaves out) or another
    column's value; "filter first" only for an answer cell that does not filter."""
    blank = key is None or (isinstance(key, float) and key != key) or not str(key).strip()
    if not blank:
        return (
            f"{key!r} is not one of {', '.join(sorted(allowed))}: did you pick the right "
            "column(s) before counting?"
        )
    source = latest_source("answer_" + question.replace(".", "_"))
    if "==" in source or ".isin(" in source:
        return (
            "your counts include rows with no category (a blank): does your filter keep only "
            "the rows the question asks for?"
        )
    return (
        "your counts include rows with no category (a blank): did you filter to the rows the "
        "question asks for first, like table[table[\"column\"] == \"value\"]?"
    )


def check_dataframe(answer: Any, columns: Iterable[str], question: str) -> None:
    """A pandas DataFrame that has (at least) the named columns."""
    __tracebackhide__ = True
    _require_answered(answer, question)
    if not isinstance(answer, pd.DataFrame):
        _fail(question, "is your answer a table (a DataFrame), e.g. the result of a filter?")
    missing = [column for column in columns if column not in answer.columns]
    if missing:
        _fail(question, f"did you keep the column(s) {', '.join(missing)}?")
    _ok(question)
