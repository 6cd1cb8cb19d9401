"""Read a student's answer from the source of an answer cell, without running it.

The grader decides marks from what the answer cell *says*, never from the student's kernel: an
answer is either a literal (`answer_2_1 = "b"`, read with `ast.literal_eval`) or, in data items,
a short pandas expression in a whitelisted grammar (`len(referrals[referrals["x"] == "y"])`),
which the grader evaluates afresh on the course's own datasets. Anything else (an answer
computed by other code, an expression outside the grammar) earns no marks, and the visible check
says so before the student submits. Only the standard library is used: this runs in students'
kernels, in grading workers and in `digiready check`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["literal", "expression", "missing", "unanswered", "unreadable"]

FUNCTIONS = frozenset({"len", "round", "sum", "min", "max", "abs"})
ATTRIBUTES = frozenset({
    "value_counts", "groupby", "size", "count", "sum", "mean", "median", "min", "max", "std",
    "nunique", "unique", "isin", "isna", "notna", "between", "sort_values", "sort_index", "head",
    "tail", "drop", "drop_duplicates", "dropna", "fillna", "loc", "iloc", "str", "contains",
    "startswith", "endswith", "lower", "upper", "strip", "shape", "index", "columns", "round",
    "reset_index", "rename", "astype", "nlargest", "nsmallest", "idxmax", "idxmin", "tolist",
    "to_dict", "copy", "filter", "any", "all", "replace", "values",
})
COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
OPERATORS = (ast.BitAnd, ast.BitOr, ast.Add, ast.Sub, ast.Mult, ast.Div)
UNARY = (ast.Invert, ast.USub, ast.Not)
MAX_SOURCE = 2_000
MAX_TEXT = 200
MAX_NUMBER = 10**9
LOADERS = frozenset({"load"})


@dataclass(frozen=True)
class Answer:
    """What an answer cell assigns to the answer's name."""

    kind: Kind
    value: Any = None  # the literal, when kind is "literal"
    expression: str = ""  # the expression's source, when kind is "expression"
    problem: str = ""  # why it cannot be marked, when kind is "unreadable"


def assigned_value(tree: ast.Module, name: str) -> ast.expr | None:
    """The value of the last top-level assignment to `name` in a cell, or None."""
    found: ast.expr | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ) or (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
              and node.target.id == name and node.value is not None):
            found = node.value
    return found


def expression_problem(node: ast.AST, names: Iterable[str]) -> str | None:
    """Why `node` is outside the grammar the grader evaluates, or None when it is inside."""
    allowed_names = set(names) | FUNCTIONS
    for part in ast.walk(node):
        problem = _node_problem(part, allowed_names)
        if problem:
            return problem
    return None


def _node_problem(node: ast.AST, names: set[str]) -> str | None:
    if isinstance(node, ast.Name):
        return None if node.id in names and isinstance(node.ctx, ast.Load) else (
            f"it uses {node.id!r}, which the marker does not know; use only the data tables "
            "the notebook loads and len()"
        )
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return "it has a very long piece of text"
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > (
            MAX_NUMBER
        ):
            return "it has a very large number"
        return None if value is None or isinstance(value, str | int | float | bool) else (
            "it has a value the marker does not read"
        )
    if isinstance(node, ast.Attribute):
        return None if node.attr in ATTRIBUTES else f"it uses .{node.attr}, which is not allowed"
    if isinstance(node, ast.Call):
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        ):
            return "it unpacks arguments with *"
        if isinstance(node.func, ast.Name | ast.Attribute):
            return None
        return "it calls something that is not a named function or method"
    if isinstance(node, ast.BinOp):
        return None if isinstance(node.op, OPERATORS) else "it uses an operator that is not allowed"
    if isinstance(node, ast.UnaryOp):
        return None if isinstance(node.op, UNARY) else "it uses an operator that is not allowed"
    if isinstance(node, ast.Compare):
        return next((_comparison_problem(op) for op in node.ops
                     if not isinstance(op, COMPARISONS)), None)
    allowed = (ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.keyword,
               ast.Load, ast.expr_context, ast.cmpop, ast.operator, ast.unaryop)
    if isinstance(node, allowed):
        return None
    return f"it uses Python the marker does not evaluate ({type(node).__name__})"


def _comparison_problem(op: ast.cmpop) -> str:
    """Why a comparison the grammar leaves out is refused, with the pandas way to say it."""
    if isinstance(op, ast.In | ast.NotIn):
        return (
            "it uses 'in', which is not allowed: use .isin([...]) to keep rows with one of "
            "several values"
        )
    return (
        "it uses 'is', which is not allowed: use == or != to compare with a value, or .isna() "
        "and .notna() for blanks"
    )


def read_answer(source: str, name: str, names: Iterable[str] = ()) -> Answer:
    """The answer an answer cell's source gives `name`; `names` are the data tables an
    expression may use (see `dataset_names`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return Answer("unreadable", problem="the answer cell is not valid Python")
    node = assigned_value(tree, name)
    if node is None:
        return Answer("missing", problem=f"the answer cell does not set {name}")
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return Answer("unanswered")
    try:
        return Answer("literal", value=ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    expression = ast.get_source_segment(source, node) or ast.unparse(node)
    if len(expression) > MAX_SOURCE:
        return Answer("unreadable", problem="the answer is too long")
    problem = expression_problem(node, names)
    if problem:
        return Answer("unreadable", problem=problem)
    return Answer("expression", expression=expression)


def dataset_names(sources: Iterable[str]) -> dict[str, str]:
    """Names bound to a course dataset by `NAME = load("dataset")` at the top level of these
    cells, e.g. {"referrals": "referrals"}: the tables an answer expression may use."""
    found: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                continue
            call = node.value
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in LOADERS and len(call.args) == 1 and not call.keywords
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)):
                found[node.targets[0].id] = call.args[0].value
    return found

