"""Notes that a grading step leaves for the marker in the autograded notebook's metadata.

Steps that run inside nbgrader's pipeline (HTML made safe, a written answer recovered) store
what a reviewer should know under `metadata.digiready.<key>` of the autograded notebook,
replacing anything the submission brought there; `digiready grade` reads them back to flag the
submission.
"""

from __future__ import annotations

from typing import Any

META_KEY = "digiready"


def record(nb: Any, key: str, notes: list[str]) -> None:
    """Store `notes` under `key` (replacing what was there)."""
    if not isinstance(nb.metadata.get(META_KEY), dict):
        nb.metadata[META_KEY] = {}
    nb.metadata[META_KEY][key] = list(notes)


def recorded(nb: Any, key: str) -> list[str] | None:
    """The notes stored under `key`, or None when that step never recorded any."""
    own = nb.metadata.get(META_KEY)
    notes = own.get(key) if isinstance(own, dict) else None
    return [str(note) for note in notes] if isinstance(notes, list) else None
