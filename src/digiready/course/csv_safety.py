"""CSV cells a spreadsheet will not run as formulas.

Excel, LibreOffice and Google Sheets treat a cell that starts with `=`, `+`, `-` or `@` (and,
after trimming, a tab or carriage return) as a formula, so a student's answer or id such as
`+HYPERLINK("http://x","y")` would become a live link or worse when a lecturer opens a report.
Every CSV written for lecturers goes through `safe_cell`: a *text* cell starting with one of
those characters (or their full-width forms) gets a leading `'`, which spreadsheets show as a
plain-text marker. Numbers stay numbers (-3 is still -3), and ids such as `0012345` are text
that needs no prefix. A lone "-" (Moodle's "no grade") is not a formula and is left alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
HARMLESS = frozenset({"-"})


def safe_cell(value: Any) -> Any:
    """`value` with a `'` in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and value not in HARMLESS:
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of `row` through `safe_cell`."""
    return [safe_cell(value) for value in row]


class SafeWriter:
    """A `csv.writer` whose rows pass through `safe_row` first."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, formula-safe."""
        self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows, formula-safe."""
        self._writer.writerows(safe_row(row) for row in rows)


def safe_writer(handle: IO[str], **options: Any) -> SafeWriter:
    """Like `csv.writer(handle, **options)`, with formula-safe text cells."""
    return SafeWriter(handle, **options)
