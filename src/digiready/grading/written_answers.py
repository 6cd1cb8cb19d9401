"""Keep a student's written answer (a reflection) when the notebook around it was changed by
accident.

In JupyterLab a student who types while a cell is selected but not being edited (command mode)
sends keyboard shortcuts: Y turns the reflection into a code cell, A and B insert new cells, and
Enter then starts editing whichever cell is selected, so the words can land in a cell of their
own next to the reflection. Before nbgrader's OverwriteCells restores the module's cells,
`recover_written_answers` turns a written answer cell back into text with its words and carries
into it the text of the cells the student added right next to it (cells without nbgrader
metadata whose id JupyterLab generated: a UUID), and says what it did. The notes are kept in the
notebook's metadata, and `recovery_notes` reads them back, so grading flags the submission for
the marker. Nothing the student wrote is dropped without a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from digiready.grading.notes import record, recorded

NOTES_KEY = "recovered_written_answers"
_GENERATED_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CARRIED_HEADING = (
    "*[Text the student typed into a cell next to this answer, moved here by grading:]*"
)


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return str(grade_id) if grade_id else None


def is_added_by_student(cell: Any) -> bool:
    """A cell the module does not have: no nbgrader metadata and an id JupyterLab generated
    (modules give every cell a readable id)."""
    return "nbgrader" not in cell.get("metadata", {}) and bool(
        _GENERATED_ID.match(str(cell.get("id", "")))
    )


def _text(cell: Any, placeholder: str) -> str:
    text = str(cell.get("source", "")).strip()
    return "" if text == placeholder.strip() else text


def _neighbours(cells: list[Any], index: int) -> list[int]:
    """Indices of the cells the student added directly above and below cell `index`."""
    found: list[int] = []
    for step in (-1, 1):
        other = index + step
        while 0 <= other < len(cells) and is_added_by_student(cells[other]):
            found.append(other)
            other += step
    return sorted(found)


def _as_markdown(cell: Any) -> str:
    """Turn `cell` into a markdown cell in place; its former type."""
    before = str(cell.cell_type)
    cell.cell_type = "markdown"
    for key in ("outputs", "execution_count"):
        cell.pop(key, None)
    return before


def recover_written_answers(nb: Any, written: Mapping[str, str]) -> list[str]:
    """Repair each written answer cell in `nb` (grade id -> the text the release gave it) and
    return notes for the marker; `nb` is changed in place."""
    notes: list[str] = []
    cells = list(nb.cells)
    carried: set[int] = set()
    present = set()
    for index, cell in enumerate(cells):
        grade_id = _grade_id(cell)
        if grade_id is None or grade_id not in written:
            continue
        present.add(grade_id)
        placeholder = written[grade_id]
        if cell.cell_type != "markdown":
            before = _as_markdown(cell)
            notes.append(
                f"{grade_id}: the written answer had been changed into a {before} cell; "
                "grading turned it back into text with the student's words"
            )
        texts = [(i, _text(cells[i], placeholder)) for i in _neighbours(cells, index)]
        texts = [(i, text) for i, text in texts if text]
        if not texts:
            continue
        own = _text(cell, placeholder)
        parts = [own, CARRIED_HEADING] if own else []
        cell.source = "\n\n".join(parts + [text for _, text in texts])
        carried.update(i for i, _ in texts)
        notes.append(
            f"{grade_id}: text the student typed into {len(texts)} cell(s) added next to the "
            "answer was moved into it"
        )
    if carried:
        nb.cells = [cell for i, cell in enumerate(cells) if i not in carried]
    missing = sorted(set(written) - present)
    added = [i for i, cell in enumerate(nb.cells) if is_added_by_student(cell)
             and str(cell.get("source", "")).strip()]
    if missing and added:
        notes.append(
            f"{', '.join(missing)}: the written answer cell was deleted; read the text in the "
            f"cells the student added ({', '.join(f'cell {i + 1}' for i in added[:5])})"
        )
    return notes


def record_recovery(nb: Any, notes: list[str]) -> None:
    """Keep the notes in the notebook's metadata (replacing any the submission brought)."""
    record(nb, NOTES_KEY, notes)


def recovery_notes(autograded: Any) -> list[str]:
    """The notes `record_recovery` kept in an autograded notebook (read), as reasons to flag it
    for the marker."""
    return recorded(autograded, NOTES_KEY) or []
