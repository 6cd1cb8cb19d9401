"""Keep nbgrader's autograde from failing on what a student's kernel claims.

After execution, a test cell's result is only the kernel's claim: the grader decides the marks
itself (`digiready.grading.trusted_marking`). nbgrader stops the whole submission when a test cell's
result is a number above the cell's points or has no plain-text form, so a kernel could get a
submission thrown out. `CapClaimedScores` runs after execution and turns such a claim into the
cell's full points: the run is recorded as claiming full marks, and the grader flags the
difference from its own mark.
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor

from digiready.course.items import nbgrader_meta
from digiready.grading.item_rules import is_auto_test


def _claim(output: Any) -> float | None:
    """The number a result claims, or None when nbgrader would not read one."""
    text = output.get("data", {}).get("text/plain")
    if isinstance(text, list):
        text = "".join(text)
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class CapClaimedScores(NbGraderPreprocessor):  # type: ignore[misc]
    """Set a test cell's unreadable or too-large result to the cell's points."""

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], cell_index: int
    ) -> tuple[Any, dict[str, Any]]:
        if is_auto_test(cell):
            points = float(nbgrader_meta(cell).get("points", 0))
            for output in cell.get("outputs", []):
                if output.get("output_type") != "execute_result":
                    continue
                text = output.get("data", {}).get("text/plain")
                claim = _claim(output)
                if not text or (claim is not None and claim > points):
                    output.setdefault("data", {})["text/plain"] = repr(points)
        return cell, resources
