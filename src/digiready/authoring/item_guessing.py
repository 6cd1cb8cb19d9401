"""Items that cannot be passed by guessing: what `digiready check` looks for.

Two kinds of free marks are found, each by marking an answer with the item's own rule outside
any kernel (`digiready.grading.trusted_marking`), exactly as the grader would:

- a **format example**: any Python literal shown in the item's prompt (the markdown cells
  between the previous item and the answer cell) or in the comment lines of its answer cell,
  such as `e.g. {"a", "c"}`, `like "b"` or `["a", "b", "c", "d", "e"]`. It must score 0:
  examples use placeholders (`{"A": "...", ...}`, `"..."`) that are not answers.
- a **positional guess**: cases matched to the categories in the order the check lists them
  (the first case to the first category, and so on, starting again at the first category when
  there are more cases than categories), an order item answered in listed order (a-b-c-d-e), or a
  choose-all item answered with every letter. None may score more than a third of the points.
  A single-choice item is by nature one chance in n and is not checked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from digiready.course.items import nbgrader_meta
from digiready.grading.item_rules import Call, Context, ItemRule, item_rules
from digiready.grading.trusted_marking import mark_answers, master_tables, score_answer

GUESS_SHARE = 1 / 3
# Scores are rounded to 2 decimals: a share of exactly a third may round up by 0.005.
ROUNDING = 0.005
BRACKETS = {"{": "}", "[": "]"}
CODE_SPAN = re.compile(r"`([^`\n]+)`")
MARKED_NUMBER = re.compile(
    r"(?:e\.g\.|for example|such as|like)[\s:,]*`?(-?\d+(?:\.\d+)?)(?![\d.]*\w)",
    re.IGNORECASE,
)
ASSIGNMENT = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class Finding:
    """One way an item gives marks away, at a cell of the notebook."""

    cell_index: int
    message: str
    fix: str


def _literal(text: str) -> bool:
    """True when `text` is a Python literal (not an expression or prose)."""
    try:
        ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return bool(text.strip())


def _closing(text: str, start: int) -> int | None:
    """The index just after the bracket that closes the one at `start` (quotes respected)."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char == '"':
            quote = char
        elif char in BRACKETS:
            depth += 1
        elif char in BRACKETS.values():
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _bracketed_and_quoted(text: str) -> Iterator[str]:
    """Every `{...}`, `[...]` or `"..."` literal in `text`, outermost first."""
    index = 0
    while index < len(text):
        char = text[index]
        end: int | None = None
        if char in BRACKETS:
            end = _closing(text, index)
        elif char == '"':
            close = text.find('"', index + 1)
            end = close + 1 if close > index else None
        if end is not None and _literal(text[index:end]):
            yield text[index:end]
            index = end
        else:
            index += 1


def literal_examples(text: str) -> list[str]:
    """The Python literals an author shows in prose or comments: bracketed or quoted literals,
    whole code spans that are literals (`12.3`, `answer_2_1 = "b"`), and numbers given as an
    example ("e.g. 50.5"). Each is returned once, as written."""
    found: list[str] = list(_bracketed_and_quoted(text))
    for span in CODE_SPAN.findall(text):
        value = ASSIGNMENT.sub("", span, count=1)
        if _literal(value):
            found.append(value.strip())
    found += MARKED_NUMBER.findall(text)
    return list(dict.fromkeys(found))


def _comment_text(source: str) -> str:
    """The comment lines of an answer cell outside its solution block (what students see)."""
    lines: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(SOLUTION_MARKERS[0]):
            inside = True
        elif stripped.startswith(SOLUTION_MARKERS[1]):
            inside = False
        elif not inside and stripped.startswith("#"):
            lines.append(stripped.lstrip("#"))
    return "\n".join(lines)


def _is_item_cell(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") or meta.get("solution"))


def _prompt_cells(notebook: Any, answer_index: int) -> list[int]:
    """The markdown cells between the previous item's cells and this answer cell."""
    start = answer_index
    while start > 0 and not _is_item_cell(notebook.cells[start - 1]):
        start -= 1
    return [i for i in range(start, answer_index) if notebook.cells[i].cell_type == "markdown"]


def _no_expressions(expressions: dict[str, str], tables: dict[str, str]) -> dict[str, Any]:
    """Examples are literals: an expression is not evaluated here, so it scores 0."""
    return {}


def example_findings(notebook: Any) -> Iterator[Finding]:
    """Every format example, in a prompt or an answer cell's comments, that scores above 0."""
    rules = item_rules(notebook)
    tables = master_tables(notebook)
    cells = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(notebook.cells)}
    for grade_id, rule in rules.items():
        answer_index = cells.get(rule.answer_cell)
        if answer_index is None:
            continue
        places = [(i, str(notebook.cells[i].source)) for i in _prompt_cells(notebook, answer_index)]
        places.append((answer_index, _comment_text(str(notebook.cells[answer_index].source))))
        for index, text in places:
            for example in literal_examples(text):
                source = f"{rule.answer_name} = {example}"
                marks = mark_answers({grade_id: rule}, {rule.answer_cell: source}, tables,
                                     _no_expressions)
                score = marks[grade_id].score
                if score > 0:
                    yield Finding(
                        index,
                        f"the format example {example} for {rule.answer_name} scores "
                        f"{score:g} of {rule.points:g}",
                        'show the form with a placeholder that is not an answer, e.g. '
                        '{"A": "...", ...}, {"...", "..."} or "..."',
                    )


def _argument(call: Call | None, position: int, keyword: str) -> Any:
    """A call's argument (after the answer) by position or keyword; None when absent."""
    if call is None:
        return None
    value = dict(call.keywords).get(keyword)
    if value is None and len(call.arguments) > position:
        value = call.arguments[position]
    return None if isinstance(value, Context) else value


def positional_guesses(rule: ItemRule) -> list[tuple[str, Any]]:
    """The answers someone guessing from the layout alone would give, with a description."""
    check = rule.check if rule.check is not None and rule.check.function in (
        "check_matches", "check_order") else None
    function = rule.score.function
    if function == "score_matches":
        correct = _argument(rule.score, 0, "correct")
        keys = list(_argument(check, 0, "keys") or (correct or {}))
        values = list(_argument(check, 1, "values") or [])
        if not keys or not values:
            return []
        in_order = {key: values[i % len(values)] for i, key in enumerate(keys)}
        return [("cases matched to the categories in listed order", in_order)]
    if function == "score_order":
        items = list(_argument(check, 0, "items") or sorted(_argument(rule.score, 0, "correct")
                                                              or []))
        if not items:
            return []
        return [(f"the items in listed order ({'-'.join(items)})", items)]
    if function == "score_choices":
        allowed = _argument(rule.score, 1, "allowed")
        return [("every letter chosen", set(allowed))] if allowed else []
    return []


def guess_findings(notebook: Any) -> Iterator[Finding]:
    """Every positional guess that scores more than a third of its item's points."""
    cells: Mapping[Any, int] = {
        nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(notebook.cells)
    }
    for grade_id, rule in item_rules(notebook).items():
        for description, guess in positional_guesses(rule):
            score = score_answer(rule, guess)
            if score > rule.points * GUESS_SHARE + ROUNDING:
                yield Finding(
                    cells.get(grade_id, 0),
                    f"a positional guess ({description}: {guess!r}) scores {score:g} of "
                    f"{rule.points:g}, more than a third",
                    "shuffle the cases so the key is not in listed order, use more cases than "
                    "categories or repeat a category; in choose-all items, have at least as "
                    "many wrong options as right ones",
                )
