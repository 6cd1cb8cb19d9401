"""Build module notebooks cell by cell with correct nbgrader metadata and digiready tags.

Authors (and tests that make notebooks on the fly) use these instead of typing metadata by hand.
Cell ids are given explicitly so a rebuilt notebook has no churn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from digiready.course.items import TAG_KEY
from digiready.course.rubric import Criterion, render_rubric

# The how-to every module shows under "## How this notebook works" (tested in a real browser:
# these are the keys that work in JupyterLab 4).
HOW_TO = """You do not need to know any programming to complete this module.

- The notebook is made of **cells**. To run a grey code cell, click it and press **Shift+Enter**; \
the notebook then moves to the next cell. Run the cells in order, starting with the setup cell \
below, which says "Ready" when the tools are loaded.
- **Scenarios and practice questions** appear as options and buttons when you run their cell \
(their code is folded away: you do not need it). Use the mouse, or the keyboard: **Tab** and \
**Shift+Tab** move to each option and button, **Space** selects an option, **Enter** presses a \
button (the arrow keys move between cells, not between options). A **dropdown** opens with \
**Space**; then the arrow keys pick an entry and **Enter** confirms it. Scenarios and practice \
questions are not marked, so try different paths.
- **Graded questions** have an answer cell: click it, replace the three dots `...` with your \
answer in the form the question shows (for example `"b"` with its quotes), and press \
**Shift+Enter**. If something is wrong, a message under the cell says what to change.
- Under each answer cell is a **check cell**. Run it: it tells you whether your answer is in the \
right *form*. It does not tell you whether the answer is right: that is marked after you submit.
- **Written answers** (the reflection) go in a text cell: click it once, press **Enter** to \
start typing, and press **Shift+Enter** when you have finished. Your tutor marks them. Choices \
in the widgets are not marked: what is written in the answer cells is.
- **Save** with **File > Save Notebook** (or Ctrl+S, Cmd+S on a Mac) before you submit."""

# The instruction under every reflection prompt, right above the written answer cell.
REFLECTION_HOW_TO = """**How to write your answer:** click once on the cell below (it says \
"YOUR ANSWER HERE"), press **Enter** to start typing, and replace that text with your own. \
Press **Shift+Enter** when you have finished, then save (**File > Save Notebook**). If new \
cells appear or letters do not show as you type, you were not typing in the cell: press \
**Esc**, then **Z** until the notebook is as it was, and start again by clicking the cell and \
pressing Enter. (Your words are not lost even then: grading puts them back into your answer.)"""

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


def _nbgrader(
    grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def _tags(capability: str, level: int) -> dict[str, Any]:
    return {"capability": capability, "level": level}


def text(cell_id: str, source: str) -> Any:
    """A locked markdown cell of teaching text (nbgrader keeps it as written)."""
    cell = new_markdown_cell(source.strip("\n"), id=cell_id)
    cell.metadata["nbgrader"] = _nbgrader(cell_id, grade=False, solution=False, locked=True)
    return cell


def code(cell_id: str, source: str) -> Any:
    """An ordinary code cell students may run and change (setup, exploration, widgets)."""
    return new_code_cell(source.strip("\n"), id=cell_id)


def widget(cell_id: str, source: str) -> Any:
    """A code cell that only displays a widget: its source starts collapsed in JupyterLab,
    so students see the scenario or practice question, not the code (or its feedback text)."""
    cell = code(cell_id, source)
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def answer(grade_id: str, source: str) -> Any:
    """An autograded answer cell: the solution sits between BEGIN/END SOLUTION markers."""
    cell = new_code_cell(source.strip("\n"), id=grade_id.replace("_", "-"))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    return cell


def _graded(
    cell: Any, grade_id: str, solution: bool, points: float, capability: str, level: int
) -> Any:
    cell.metadata["nbgrader"] = _nbgrader(
        grade_id, grade=True, solution=solution, locked=not solution, points=points
    )
    cell.metadata[TAG_KEY] = _tags(capability, level)
    return cell


def test(grade_id: str, source: str, points: float, capability: str, level: int) -> Any:
    """A locked autograder test cell worth `points`, tagged with what it evidences."""
    cell = new_code_cell(source.strip("\n"), id=grade_id.replace("_", "-"))
    return _graded(cell, grade_id, False, points, capability, level)


def completion_test(grade_id: str, source: str, points: float) -> Any:
    """A locked test cell of a completion item (any complete answer scores): tagged
    `{"completion": true}`, never evidence of a capability level."""
    cell = new_code_cell(source.strip("\n"), id=grade_id.replace("_", "-"))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=False, locked=True,
                                          points=points)
    cell.metadata[TAG_KEY] = {"completion": True}
    return cell


def mark_scheme(criteria: Sequence[Criterion]) -> str:
    """The mark scheme of a reflection in the course's shared rubric grid
    (`digiready.course.rubric`)."""
    return render_rubric(criteria)


def written(
    grade_id: str,
    model_answer: str,
    points: float,
    capability: str,
    level: int,
    criteria: Sequence[Criterion] = (),
) -> Any:
    """A manually graded markdown answer: the model answer, then (given `criteria`) the mark
    scheme in the shared rubric grid. The cell is tagged with one capability (the report reads
    one per graded cell) and `assesses`, every capability its criteria assess."""
    source = model_answer.strip("\n")
    if criteria:
        source += "\n\n" + mark_scheme(criteria)
    cell = new_markdown_cell(source, id=grade_id.replace("_", "-"))
    _graded(cell, grade_id, True, points, capability, level)
    if criteria:
        cell.metadata[TAG_KEY]["assesses"] = sorted({c.capability for c in criteria})
    return cell


def notebook(cells: list[Any]) -> Any:
    """A notebook with the python3 kernelspec JupyterLab starts without asking."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    nbformat.validate(nb)
    return nb
