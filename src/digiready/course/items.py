"""Graded items as a notebook declares them: nbgrader's block plus digiready's tags.

A graded cell (nbgrader `grade: true`) carries, beside its `nbgrader` metadata,

    "digiready": {"capability": "practice.online_safeguarding", "level": 2}

or, for a completion item (any complete answer scores: a self-rating, a plan), which is never
evidence of a capability level,

    "digiready": {"completion": true}

The readiness report and `digiready check` read items only through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat

TAG_KEY = "digiready"


@dataclass(frozen=True)
class GradedItem:
    """One graded cell: what it is worth and what it evidences."""

    grade_id: str
    points: float
    kind: Literal["auto", "manual"]
    capability: str | None
    level: int | None
    cell_index: int
    completion: bool = False  # any complete answer scores: never evidence of a level


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """The cell's nbgrader metadata block, or an empty dict."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_graded(cell: Any) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def graded_items(notebook: Any) -> list[GradedItem]:
    """Every graded cell of a notebook, in order."""
    items = []
    for index, cell in enumerate(notebook.cells):
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        tags = cell.get("metadata", {}).get(TAG_KEY, {})
        tags = tags if isinstance(tags, dict) else {}
        manual = bool(meta.get("solution")) or bool(meta.get("task"))
        level = tags.get("level")
        completion = tags.get("completion") is True
        valid_level = isinstance(level, int) and not isinstance(level, bool) and not completion
        items.append(
            GradedItem(
                grade_id=str(meta.get("grade_id", "")),
                points=float(meta.get("points", 0) or 0),
                kind="manual" if manual else "auto",
                capability=None if completion else tags.get("capability"),
                level=level if valid_level else None,
                cell_index=index,
                completion=completion,
            )
        )
    return items


def read_notebook(path: Path) -> Any:
    """Read a notebook as nbformat v4, naming the file when it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise ValueError(f"{path}: not a readable notebook: {error}") from error
