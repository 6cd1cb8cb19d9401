"""Students' answers, read from autograded notebooks for the item analysis and self-ratings.

Answers are read with `ast`, never run, and normalised so that equal answers group: letters
lower-case, sets and dict keys sorted, whitespace and quotes as `ast.unparse` writes them.
A notebook that cannot be read is skipped with a logged warning naming it.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from digiready.student.self_audit import Ratings, read_self_audit

BLANK = "(blank)"
NO_ANSWER = "(no answer)"
NOT_PYTHON = "(not valid Python)"
TEST_SUFFIX = "_test"
SELF_AUDIT_MODULE = "00-self-audit"
COLUMNS = ["student", "module", "grade_id", "answer"]

logger = logging.getLogger(__name__)


def render(value: Any) -> str:
    """A literal as normalised text: strings stripped and lower-case, whole floats as ints,
    sets and dicts sorted."""
    if isinstance(value, str):
        return repr(value.strip().lower())
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    if isinstance(value, set):
        return "{" + ", ".join(sorted(map(render, value))) + "}" if value else "set()"
    if isinstance(value, list):
        return "[" + ", ".join(map(render, value)) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(render, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = sorted((render(key), render(item)) for key, item in value.items())
        return "{" + ", ".join(f"{key}: {item}" for key, item in pairs) + "}"
    return repr(value)


def _assigned(tree: ast.Module) -> ast.expr | None:
    """The value of the cell's last top-level assignment to a plain name."""
    values = [
        node.value
        for node in tree.body
        if (isinstance(node, ast.Assign) and isinstance(node.targets[-1], ast.Name))
        or (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name))
    ]
    return values[-1] if values else None


def normalise(source: str) -> str:
    """The answer in an answer cell's source, as normalised text (see `render`); `...` is
    "(blank)", an expression that is not a literal is `ast.unparse`d."""
    try:
        value = _assigned(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError):
        return NOT_PYTHON
    if value is None:
        return NO_ANSWER
    if isinstance(value, ast.Constant) and value.value is Ellipsis:
        return BLANK
    try:
        return render(ast.literal_eval(value))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(value)


def _cells(path: Path) -> list[dict[str, Any]]:
    """The cells of a notebook file read as plain JSON; ValueError when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not readable as a notebook ({error})") from error
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise ValueError("not a notebook: no list of cells")
    return cells


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    metadata = cell.get("metadata")
    block = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return block if isinstance(block, dict) else {}


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_answers(cells: list[dict[str, Any]]) -> dict[str, str]:
    """Normalised answers by the grade id of the test that marks them (answer id + "_test"),
    for every autograded answer cell that has such a test."""
    tests = {str(_nbgrader(cell).get("grade_id")) for cell in cells if _nbgrader(cell).get("grade")}
    answers = {}
    for cell in cells:
        meta = _nbgrader(cell)
        test_id = f"{meta.get('grade_id')}{TEST_SUFFIX}"
        is_answer = (
            cell.get("cell_type") == "code" and meta.get("solution") and not meta.get("grade")
        )
        if is_answer and test_id in tests:
            answers[test_id] = normalise(_text(cell.get("source", "")))
    return answers


def _submissions(autograded_root: Path, module: str) -> Iterator[tuple[str, Path]]:
    """(student id, notebook path) for each `<student>/<module>/<module>.ipynb`, by student
    (none when nothing has been autograded yet)."""
    if not autograded_root.is_dir():
        return
    for folder in sorted(autograded_root.iterdir()):
        path = folder / module / f"{module}.ipynb"
        if path.is_file():
            yield folder.name, path


def student_answers(autograded_root: Path, module: str) -> pd.DataFrame:
    """Every student's normalised answers to `module`: columns student, module, grade_id (the
    test's, so it joins the score table) and answer. Unreadable notebooks are skipped and
    logged."""
    rows = []
    for student, path in _submissions(autograded_root, module):
        try:
            answers = notebook_answers(_cells(path))
        except ValueError as error:
            logger.warning("%s: skipped: %s", path, error)
            continue
        rows += [(student, module, grade_id, answer) for grade_id, answer in answers.items()]
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def cohort_answers(autograded_root: Path, modules: Collection[str]) -> pd.DataFrame:
    """`student_answers` for several modules in one table."""
    frames = [student_answers(autograded_root, module) for module in modules]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def cohort_self_ratings(
    autograded_root: Path, known_ids: Collection[str], module: str = SELF_AUDIT_MODULE
) -> dict[str, Ratings]:
    """Each student's self-audit ratings {capability: (now, needed)} from their autograded
    self-audit; malformed or unreadable ones are skipped and logged."""
    ratings = {}
    for student, path in _submissions(autograded_root, module):
        try:
            ratings[student] = read_self_audit(path, known_ids)
        except ValueError as error:
            logger.warning("%s: self-audit skipped: %s", path, error)
    return ratings
