"""Each auto-graded item's scoring rule, read from the trusted master notebook in `course/`.

A test cell has the form

    \"\"\"Checks the form of your answer to Question 2.1 (one letter, a-d).\"\"\"
    check_letter(answer_2_1, "abcd", "2.1")
    ### BEGIN HIDDEN TESTS
    from digiready.marking import score_choice
    score_choice(answer_2_1, "b", 2)
    ### END HIDDEN TESTS

so the rule is two calls whose first argument is the answer's name and whose other arguments
are literals (or `curriculum`, which the grader loads itself): the visible form check (an
answer that fails it scores 0, as in the kernel) and the scoring helper from
`digiready.marking`. The grader applies the rule in its own process to the answer read from the
answer cell (`digiready.student.answer_reading`), so nothing the student's kernel does changes a
mark.
`digiready check` refuses a test cell that does not have this form.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from digiready.course.items import nbgrader_meta

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
TEST_SUFFIX = "_test"
CONTEXT_NAMES = frozenset({"curriculum"})
MARKING_MODULE = "digiready.marking"


class RuleError(ValueError):
    """A test cell whose marks the grader cannot decide outside the kernel."""


@dataclass(frozen=True)
class Context:
    """A name in a check call that the grader supplies itself (e.g. `curriculum`)."""

    name: str


@dataclass(frozen=True)
class Call:
    """A call of a named check or scoring function with the answer and literal arguments."""

    function: str
    arguments: tuple[Any, ...]
    keywords: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ItemRule:
    """How one auto-graded item is marked."""

    grade_id: str  # the test cell's
    answer_cell: str  # the answer cell's grade id
    answer_name: str
    points: float
    check: Call | None
    score: Call


def _argument(node: ast.expr, where: str) -> Any:
    if isinstance(node, ast.Name) and node.id in CONTEXT_NAMES:
        return Context(node.id)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as error:
        raise RuleError(f"{where}: argument {ast.unparse(node)!r} is not a literal") from error


def _call(statement: ast.stmt, prefix: str, where: str) -> tuple[str, Call]:
    """(answer name, call) of a statement `prefix_xxx(answer_name, literal, ...)`."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and statement.value.func.id.startswith(prefix)):
        raise RuleError(f"{where}: expected one call of a {prefix}... function, found "
                        f"{ast.unparse(statement)[:60]!r}")
    call = statement.value
    assert isinstance(call.func, ast.Name)
    if not call.args or not isinstance(call.args[0], ast.Name):
        raise RuleError(f"{where}: the first argument of {call.func.id} must be the answer's name")
    if any(keyword.arg is None for keyword in call.keywords):
        raise RuleError(f"{where}: {call.func.id} must not unpack keyword arguments")
    arguments = tuple(_argument(arg, where) for arg in call.args[1:])
    keywords = tuple((str(k.arg), _argument(k.value, where)) for k in call.keywords)
    return call.args[0].id, Call(call.func.id, arguments, keywords)


def _split(source: str, where: str) -> tuple[str, str]:
    if source.count(BEGIN_HIDDEN) != 1 or source.count(END_HIDDEN) != 1:
        raise RuleError(f"{where}: needs exactly one hidden-tests block")
    visible, rest = source.split(BEGIN_HIDDEN)
    hidden, after = rest.split(END_HIDDEN)
    if after.strip():
        raise RuleError(f"{where}: nothing may follow the hidden-tests block")
    return visible, hidden


def _parse(code: str, where: str) -> list[ast.stmt]:
    try:
        return ast.parse(code).body
    except SyntaxError as error:
        raise RuleError(f"{where}: not valid Python ({error.msg})") from error


def parse_rule(source: str, grade_id: str, points: float) -> ItemRule:
    """The rule of one test cell; RuleError (naming the cell) when it has another form."""
    where = f"test cell {grade_id}"
    visible, hidden = _split(source, where)
    statements = _parse(visible, where)
    if statements and isinstance(statements[0], ast.Expr) and isinstance(
        getattr(statements[0], "value", None), ast.Constant
    ):
        statements = statements[1:]  # the docstring
    if len(statements) > 1:
        raise RuleError(f"{where}: the visible part may hold only its docstring and one check")
    check_name, check = _call(statements[0], "check_", where) if statements else (None, None)
    body = [s for s in _parse(hidden, where)
            if not (isinstance(s, ast.ImportFrom) and s.module == MARKING_MODULE)]
    if len(body) != 1:
        raise RuleError(f"{where}: the hidden block must be one call of a digiready.marking "
                        "score_... function (imports of it aside)")
    answer_name, score = _call(body[0], "score_", where)
    if check_name is not None and check_name != answer_name:
        raise RuleError(f"{where}: the check and the score use different names")
    if not grade_id.endswith(TEST_SUFFIX):
        raise RuleError(f"{where}: a test cell's grade id ends with {TEST_SUFFIX}")
    return ItemRule(grade_id, grade_id.removesuffix(TEST_SUFFIX), answer_name, points, check,
                    score)


def is_auto_test(cell: Any) -> bool:
    """An nbgrader autograder test cell: graded, code, not a solution or task."""
    meta = nbgrader_meta(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("grade"))
            and not meta.get("solution") and not meta.get("task"))


def item_rules(notebook: Any) -> dict[str, ItemRule]:
    """Every auto-graded item's rule, by the test cell's grade id; RuleError for any cell that
    does not fit."""
    rules: dict[str, ItemRule] = {}
    for cell in notebook.cells:
        if is_auto_test(cell):
            meta = nbgrader_meta(cell)
            grade_id = str(meta.get("grade_id", ""))
            rules[grade_id] = parse_rule(str(cell.source), grade_id, float(meta.get("points", 0)))
    return rules
