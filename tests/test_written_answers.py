"""A reflection typed the wrong way survives grading (issue 12, part 1).

In command mode JupyterLab's shortcuts turn the reflection into a code cell (Y) and insert new
cells (A, B) that catch the rest of the typing. nbgrader alone restores the reflection's type and
keeps its text, but the words in the added cells never reach the marker's view of the answer.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import nbformat
import pytest

from conftest import FIXTURE, cell_index
from digiready.course.items import read_notebook
from digiready.course.paths import CourseLayout
from digiready.grading.autograde import autograde, prepare_course, submit
from digiready.grading.written_answers import recover_written_answers, recovery_notes

WORDS = "Digital readiness for me means asking people about their online lives with curiosity."
REFLECTION = "m99_reflection"


def _release(layout: CourseLayout) -> nbformat.NotebookNode:
    return read_notebook(layout.module_notebook(layout.release, FIXTURE))


def _reflection_index(nb: nbformat.NotebookNode) -> int:
    return cell_index(nb, REFLECTION)


def _typed_in_command_mode(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What the keys do: Y made the reflection a code cell, B added a cell below it, Enter
    started editing that cell, and the words went there."""
    index = _reflection_index(nb)
    cell = nb.cells[index]
    cell.cell_type = "code"
    cell.outputs, cell.execution_count = [], None
    stray = nbformat.v4.new_code_cell(WORDS)
    stray.id = str(uuid.uuid4())
    nb.cells.insert(index + 1, stray)
    return nb


@pytest.mark.slow
def test_words_typed_next_to_a_reflection_reach_the_marker(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    notebook = tmp_path / f"{FIXTURE}.ipynb"
    nbformat.write(_typed_in_command_mode(_release(built_fixture_course)), notebook)
    submit(root, FIXTURE, "s1", notebook)
    autograde(root, FIXTURE, ["s1"])
    graded_path = root / "autograded" / "s1" / FIXTURE / f"{FIXTURE}.ipynb"
    graded = read_notebook(graded_path)
    reflection = graded.cells[_reflection_index(graded)]
    assert reflection.cell_type == "markdown"
    assert WORDS in reflection.source
    assert sum(WORDS in cell.source for cell in graded.cells) == 1
    notes = recovery_notes(read_notebook(graded_path))
    assert any("changed into a code cell" in note for note in notes), notes
    assert any("moved into it" in note for note in notes), notes


def test_a_reflection_left_alone_is_untouched(built_fixture_course: CourseLayout) -> None:
    nb = _release(built_fixture_course)
    before = nbformat.writes(nb)
    placeholder = nb.cells[_reflection_index(nb)].source
    assert recover_written_answers(nb, {REFLECTION: placeholder}) == []
    assert nbformat.writes(nb) == before


def test_own_words_and_added_cell_are_both_kept(built_fixture_course: CourseLayout) -> None:
    nb = _typed_in_command_mode(_release(built_fixture_course))
    index = _reflection_index(nb)
    placeholder = _release(built_fixture_course).cells[index].source
    nb.cells[index].source = "My first sentence."
    notes = recover_written_answers(nb, {REFLECTION: placeholder})
    source = nb.cells[index].source
    assert source.startswith("My first sentence.") and source.endswith(WORDS)
    assert len(notes) == 2


def test_a_deleted_reflection_with_text_elsewhere_is_flagged(
    built_fixture_course: CourseLayout,
) -> None:
    nb = _typed_in_command_mode(_release(built_fixture_course))
    placeholder = nb.cells[_reflection_index(nb)].source
    del nb.cells[_reflection_index(nb)]
    notes = recover_written_answers(nb, {REFLECTION: placeholder})
    assert any("was deleted" in note for note in notes), notes
