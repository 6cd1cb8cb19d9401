"""The one rubric grid every module's reflections are marked on.

Each criterion assesses one construct, is tagged with the capability it evidences, and scores
0, half or full marks, with an anchor answer (a short example of what a student might write)
for each of the three levels. Authors write criteria with `Criterion` and render the mark
scheme with `digiready.authoring.cells.mark_scheme`; `digiready check` reads the table back with
`read_rubric` to prove the points add up and the capabilities are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEADER = (
    "| Criterion (one construct) | Assesses | Points "
    "| 0: for example | Half: for example | Full: for example |"
)
_RULE = "| --- | --- | --- | --- | --- | --- |"
MARKING_RULES = (
    "Score each criterion 0, half or full, matching the answer to the nearest anchor: full where "
    "the criterion is clearly met, half where it is partly met, 0 where it is missing. Mark each "
    "criterion on its own construct only. No marks are lost for spelling or style. Never reward "
    "details that could identify a real person; say so in feedback instead."
)


@dataclass(frozen=True)
class Criterion:
    """One row of the grid: one construct, the capability it evidences, and three anchors."""

    construct: str
    capability: str
    points: float
    zero: str
    half: str
    full: str


class RubricError(ValueError):
    """A mark scheme that is not in the shared grid's form."""


def _points(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    if "|" in text or "\n" in text:
        raise RubricError(f"a rubric cell cannot hold '|' or a line break: {text!r}")
    return text.strip()


def render_rubric(criteria: Sequence[Criterion]) -> str:
    """The mark scheme as markdown: a title with the total, the grid and the marking rules."""
    if not criteria:
        raise RubricError("a rubric needs at least one criterion")
    total = sum(criterion.points for criterion in criteria)
    rows = [
        "| " + " | ".join([
            _cell(c.construct), f"`{_cell(c.capability)}`", _points(c.points),
            _cell(c.zero), _cell(c.half), _cell(c.full),
        ]) + " |"
        for c in criteria
    ]
    return "\n".join([
        f"**Mark scheme ({_points(total)} points).** The course's shared rubric (AUTHORING.md): "
        "one construct per criterion; 0, half or full marks for each; an anchor answer for "
        "each level.",
        "",
        HEADER,
        _RULE,
        *rows,
        "",
        MARKING_RULES,
    ])


def read_rubric(markdown: str) -> list[Criterion]:
    """The criteria of the shared grid in this cell's text; RubricError if there is none or a
    row is not in the grid's form."""
    lines = markdown.splitlines()
    try:
        start = [line.strip() for line in lines].index(HEADER) + 2
    except ValueError:
        raise RubricError("no mark scheme in the shared rubric grid") from None
    criteria = []
    for line in lines[start:]:
        if not line.strip().startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not all(cells):
            raise RubricError(f"rubric row without its six filled cells: {line.strip()!r}")
        construct, capability, points, zero, half, full = cells
        try:
            value = float(points)
        except ValueError:
            raise RubricError(f"rubric row whose points are not a number: {points!r}") from None
        criteria.append(Criterion(construct, capability.strip("`"), value, zero, half, full))
    if not criteria:
        raise RubricError("the shared rubric grid has no criteria")
    return criteria
