"""Two small nbgrader preprocessors, named in `nbgrader_config.py`.

- `ClearAnswers` releases `answer_1_2 = ...` where the solution is one assignment, instead of
  nbgrader's `raise NotImplementedError()`, so the student sees which name to fill in.
- `StripTestTracebacks` (feedback only) keeps the last line of an error in a test cell and drops
  the traceback, whose frames would show the lines of hidden tests.
"""

from __future__ import annotations

import re
from typing import Any

from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from nbgrader.utils import is_grade

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]")


def single_assignment_target(source: str, begin: str, end: str) -> str | None:
    """The variable name when the solution region holds one assignment (and comments), else None."""
    lines = source.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if begin in line)
        stop = next(i for i, line in enumerate(lines) if end in line)
    except StopIteration:
        return None
    body = [
        line
        for line in lines[start + 1 : stop]
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not body:
        return None
    match = _ASSIGNMENT.match(body[0])
    continuation = all(line.startswith((" ", "\t", ")", "]", "}")) for line in body[1:])
    return match.group(1) if match and continuation else None


class ClearAnswers(ClearSolutions):  # type: ignore[misc]
    """ClearSolutions that leaves `name = ...` in place of a one-assignment solution."""

    def _replace_solution_region(self, cell: Any, language: str) -> bool:
        name = None
        if cell.cell_type == "code":
            name = single_assignment_target(
                cell.source, self.begin_solution_delimeter, self.end_solution_delimeter
            )
        if name is None:
            return bool(super()._replace_solution_region(cell, language))
        original: dict[str, str] = dict(getattr(self, "code_stub"))  # noqa: B009 (a traitlet)
        self.code_stub = {**original, language: f"{name} = ..."}
        try:
            return bool(super()._replace_solution_region(cell, language))
        finally:
            self.code_stub = original


class StripTestTracebacks(NbGraderPreprocessor):  # type: ignore[misc]
    """In graded test cells, replace each error's traceback by its last line."""

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], cell_index: int
    ) -> tuple[Any, dict[str, Any]]:
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    ]
        return cell, resources
