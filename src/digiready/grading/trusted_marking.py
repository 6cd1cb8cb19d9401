"""Decide a submission's automatic marks outside the student's kernel.

For each item, the answer is read from the executed notebook's answer cell (a literal, or a
data expression evaluated afresh by `evaluate`, see `digiready.grading.answer_eval`), and the item's
rule from the master (`digiready.grading.item_rules`) is applied here, in the grader's own process,
with the grader's own check and marking functions: an answer that fails its form check scores 0, as
it does in the kernel; otherwise the scoring helper decides.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from digiready import marking
from digiready.course.curriculum import load_curriculum, packaged_curriculum
from digiready.course.items import nbgrader_meta
from digiready.grading.answer_eval import Unreadable, decode
from digiready.grading.item_rules import Call, Context, ItemRule
from digiready.student import answer_format, self_audit
from digiready.student.answer_reading import dataset_names, read_answer

Evaluate = Callable[[dict[str, str], dict[str, str]], dict[str, Any]]
CHECKS: dict[str, Callable[..., None]] = {
    **{name: getattr(answer_format, name) for name in dir(answer_format)
       if name.startswith("check_")},
    "check_self_audit": self_audit.check_self_audit,
    "check_cpd_plan": self_audit.check_cpd_plan,
}
SCORERS: dict[str, Callable[..., float]] = {
    name: getattr(marking, name) for name in dir(marking) if name.startswith("score_")
}


@dataclass(frozen=True)
class ItemMark:
    """The grader's mark for one item, and why it is 0 when the answer could not be marked."""

    grade_id: str
    score: float
    points: float
    problem: str = ""


@cache
def _context(name: str) -> Any:
    if name == "curriculum":
        return load_curriculum(packaged_curriculum())
    raise KeyError(name)


def _resolve(value: Any) -> Any:
    return _context(value.name) if isinstance(value, Context) else value


def _apply(call: Call, table: Mapping[str, Callable[..., Any]], answer: Any) -> Any:
    function = table[call.function]
    arguments = [_resolve(argument) for argument in call.arguments]
    keywords = {key: _resolve(value) for key, value in call.keywords}
    with contextlib.redirect_stdout(io.StringIO()):
        return function(answer, *arguments, **keywords)


def score_answer(rule: ItemRule, answer: Any) -> float:
    """The rule applied to an answer value: 0 when the form check fails, else the score."""
    if isinstance(answer, Unreadable):
        return 0.0
    try:
        if rule.check is not None:
            _apply(rule.check, CHECKS, answer)
        earned = float(_apply(rule.score, SCORERS, answer))
    except Exception:  # a failed form check, or any answer the helpers reject
        return 0.0
    return round(min(max(earned, 0.0), rule.points), 2)


def answer_sources(notebook: Any) -> dict[str, str]:
    """The source of each answer (or other nbgrader) cell, by grade id; the first one wins."""
    sources: dict[str, str] = {}
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id not in sources:
            sources[grade_id] = str(cell.get("source", ""))
    return sources


def master_tables(master: Any) -> dict[str, str]:
    """The data tables the master notebook loads (`referrals = load("referrals")`)."""
    return dataset_names(str(cell.source) for cell in master.cells if cell.cell_type == "code")


def mark_notebook(
    rules: Mapping[str, ItemRule], notebook: Any, tables: dict[str, str], evaluate: Evaluate
) -> dict[str, ItemMark]:
    """The grader's mark for every rule's item in `notebook`, by the test cell's grade id."""
    return mark_answers(rules, answer_sources(notebook), tables, evaluate)


def mark_answers(
    rules: Mapping[str, ItemRule],
    sources: Mapping[str, str],
    tables: dict[str, str],
    evaluate: Evaluate,
) -> dict[str, ItemMark]:
    """The grader's mark for every rule's item, given the answer cells' sources by grade id."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    expressions: dict[str, str] = {}
    for grade_id, rule in rules.items():
        answer = read_answer(sources.get(rule.answer_cell, ""), rule.answer_name, tables)
        if answer.kind == "literal":
            values[grade_id] = answer.value
        elif answer.kind == "expression":
            expressions[grade_id] = answer.expression
        elif answer.kind != "unanswered":
            problems[grade_id] = answer.problem
    if expressions:
        for grade_id, encoded in evaluate(expressions, tables).items():
            if grade_id in expressions:
                values[grade_id] = decode(encoded)
    for grade_id, value in values.items():
        if isinstance(value, Unreadable):
            problems[grade_id] = f"the answer could not be evaluated ({value.reason})"
    return {
        grade_id: ItemMark(
            grade_id,
            score_answer(rule, values[grade_id]) if grade_id in values else 0.0,
            rule.points,
            problems.get(grade_id, ""),
        )
        for grade_id, rule in rules.items()
    }


def marking_notes(marks: Mapping[str, ItemMark], kernel: Mapping[str, float]) -> list[str]:
    """What a reviewer should know: items whose marks the notebook's own run (in the student's
    kernel) put higher or lower than the grader, and answers that could not be marked."""
    def listed(items: list[str]) -> str:
        return ", ".join(f"{g} ({kernel[g]:g} in the notebook's run, {marks[g].score:g} by the "
                         "grader)" for g in items)

    higher = [g for g in marks if g in kernel and kernel[g] > marks[g].score + 1e-9]
    lower = [g for g in marks if g in kernel and kernel[g] < marks[g].score - 1e-9]
    notes = []
    if higher:
        notes.append("tampering suspected: the notebook's own run gave more marks than its "
                     f"written answers earn: {listed(higher)}")
    if lower:
        notes.append("the notebook's own run gave fewer marks than its written answers earn "
                     "(cells run out of order, an error or a time-out); the written answers "
                     f"were marked: {listed(lower)}")
    notes += [f"{g}: answer not marked, {mark.problem}" for g, mark in marks.items()
              if mark.problem]
    return notes
