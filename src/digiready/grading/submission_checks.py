"""Look at a submission before grading: what can be graded, and what a reviewer should know.

nbgrader itself restores test cells, points, cell metadata and the kernelspec from the gradebook
before it runs a notebook, and ignores notebooks it does not know. This module finds those
changes (and a few nbgrader does not notice: renamed notebooks, old notebook formats, cells
moved out of order) so that each becomes a reason to flag the submission for review.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

NOT_IMPORTED = "NOT-IMPORTED.txt"  # written by `import-lms` in place of a notebook it refused
TIMESTAMP = "timestamp.txt"  # nbgrader's submission time (collect, or `import-lms --worksheet`)
CANVAS_LATE = "CANVAS-LATE.txt"  # written by `import-lms` where Canvas marked the file LATE
# What a submission folder may hold besides the module's notebook and the files the release
# ships: nbgrader's own timestamp, Canvas's late mark and Jupyter's checkpoints.
EXPECTED_EXTRAS = frozenset({TIMESTAMP, CANVAS_LATE, ".ipynb_checkpoints"})
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)


@dataclass(frozen=True)
class Inspection:
    """What grading a submission folder should do."""

    notebook: Path | None  # the notebook to grade; None when nothing can be graded
    problem: str = ""  # why nothing can be graded
    notes: tuple[str, ...] = ()  # what a reviewer should know; the notebook is graded anyway
    upgraded: Any = None  # the notebook as nbformat 4, when it had to be renamed or upgraded


def _nbgrader(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _ids(notebook: Any) -> list[str]:
    return [str(_nbgrader(c)["grade_id"]) for c in notebook.cells if "grade_id" in _nbgrader(c)]


def _release_source(cell: Any) -> str:
    """What students were given in a locked cell: the source without its hidden tests."""
    return HIDDEN_TESTS.sub("", str(cell.source)).strip()


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def compare_with_source(submitted: Any, source: Any) -> list[str]:
    """Reasons to review: cells missing, edited, moved or re-labelled; kernel changed."""
    notes: list[str] = []
    theirs = {_nbgrader(c)["grade_id"]: c for c in submitted.cells if "grade_id" in _nbgrader(c)}
    ours = {_nbgrader(c)["grade_id"]: c for c in source.cells if "grade_id" in _nbgrader(c)}
    missing = [i for i in _ids(source) if i not in theirs]
    if missing:
        notes.append(f"cells deleted (put back before grading): {_listed(missing)}")
    unknown = [i for i in _ids(submitted) if i not in ours]
    if unknown:
        notes.append(f"cells with ids the module does not have (renamed?): {_listed(unknown)}")
    edited = [i for i, c in ours.items() if i in theirs and _nbgrader(c).get("locked")
              and _nbgrader(c).get("solution") is not True
              and _release_source(theirs[i]) != _release_source(c)]
    if edited:
        notes.append(f"locked or test cells edited (the original was run): {_listed(edited)}")
    relabelled = [i for i, c in ours.items() if i in theirs and any(
        _nbgrader(theirs[i]).get(key) != _nbgrader(c).get(key)
        for key in ("points", "grade", "solution", "locked", "task"))]
    if relabelled:
        notes.append(f"nbgrader metadata or points changed (the module's were used): "
                     f"{_listed(relabelled)}")
    kept = [i for i in _ids(submitted) if i in ours]
    expected = [i for i in _ids(source) if i in theirs]
    if kept != expected:
        moved = next((a for a, b in zip(kept, expected, strict=False) if a != b), kept[-1])
        notes.append(f"cells moved out of order (run in the student's order), first: {moved}")
    their_kernel = submitted.metadata.get("kernelspec", {}).get("name")
    our_kernel = source.metadata.get("kernelspec", {}).get("name")
    if their_kernel != our_kernel:
        notes.append(f"kernel changed to {their_kernel!r} (graded with {our_kernel!r})")
    return notes


def _relative_files(folder: Path) -> Iterator[tuple[str, ...]]:
    """Every file and folder under `folder`, as path parts (walked without recursion)."""
    waiting: list[tuple[str, ...]] = [()]
    while waiting:
        parts = waiting.pop()
        with os.scandir(folder.joinpath(*parts)) as entries:
            for entry in entries:
                yield (*parts, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    waiting.append((*parts, entry.name))


def extra_files(folder: Path, shipped: Path) -> list[str]:
    """What `folder` (a submission) holds that the release (`shipped`, the module's source
    folder) does not: top-level names, folders with a trailing slash. Notebooks are left to
    the notebook checks."""
    known = set(_relative_files(shipped)) if shipped.is_dir() else set()
    extra: set[str] = set()
    for parts in _relative_files(folder):
        top = folder / parts[0]
        if parts in known or parts[0] in EXPECTED_EXTRAS:
            continue
        if len(parts) == 1 and parts[0].endswith(".ipynb") and not top.is_dir():
            continue
        extra.add(parts[0] + ("/" if top.is_dir() and not top.is_symlink() else ""))
    return sorted(extra)


def _read(path: Path) -> tuple[Any, str, str]:
    """(notebook as nbformat 4 or None, problem, note on its format)."""
    raw = path.read_bytes()
    if not raw.strip():
        return None, f"{path.name} is an empty file", ""
    try:
        version = json.loads(raw).get("nbformat")
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as error:  # json, unicode and nbformat errors all mean "unreadable"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"{path.name} is not a readable notebook: {first}", ""
    if version != 4:
        return notebook, "", f"saved as notebook format {version}; upgraded to 4 for grading"
    return notebook, "", ""


def _import_reason(folder: Path) -> str:
    """The first line of the NOT-IMPORTED.txt `import-lms` wrote."""
    try:
        text = (folder / NOT_IMPORTED).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "see " + NOT_IMPORTED
    return (text.strip().splitlines() or ["see " + NOT_IMPORTED])[0][:300]


@lru_cache(maxsize=4)
def _source_notebook(source: Path, stamp: tuple[int, int]) -> Any:
    """The module's source notebook, read once while its file keeps its `stamp` (modification
    time and size): a grading worker compares every submission with it."""
    return nbformat.read(source, as_version=4)


def inspect(folder: Path, module: str, source: Path) -> Inspection:
    """Inspect `folder` (submitted/<student>/<module>) against the module's source notebook."""
    expected = folder / f"{module}.ipynb"
    notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    notes: list[str] = []
    if expected.is_file():
        chosen = expected
    elif len(notebooks) == 1:
        chosen = notebooks[0]
        notes.append(f"graded {chosen.name} in place of {expected.name} (renamed)")
    elif not notebooks and (folder / NOT_IMPORTED).is_file():
        return Inspection(None, f"not imported from the LMS: {_import_reason(folder)}")
    else:
        found = ", ".join(p.name for p in notebooks) or "none"
        return Inspection(None, f"no notebook named {expected.name} in the submission "
                                f"(notebooks found: {found})")
    extra = [p.name for p in notebooks if p != chosen]
    if extra:
        notes.append(f"other notebooks not graded: {', '.join(extra)}")
    unexpected = extra_files(folder, source.parent)
    if unexpected:
        notes.append(f"extra files in the submission: {_listed(unexpected)}")
    notebook, problem, format_note = _read(chosen)
    if notebook is None:
        return Inspection(None, problem, tuple(notes))
    if format_note:
        notes.append(format_note)
    stat = source.stat()
    notes += compare_with_source(notebook, _source_notebook(source, (stat.st_mtime_ns,
                                                                     stat.st_size)))
    upgraded = notebook if chosen != expected or format_note else None
    return Inspection(chosen, "", tuple(notes), upgraded)
