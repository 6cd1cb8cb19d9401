"""A class list read from a CSV: who is on the course, with names, emails and Canvas user ids.

Three shapes are read (column names matched case-insensitively, extra columns ignored):

- plain: `student_id`, `name`, `email` (`first_name` and `last_name` may replace `name`);
- Moodle's grading worksheet (Assignment > Download grading worksheet): `Identifier`
  ("Participant 123456"), `Full name`, `Email address`, `ID number` (the student id);
- Canvas's gradebook export (Grades > Export): `Student` ("Smith, Jane"), `ID` (Canvas user
  id), `SIS User ID` (the student id), `SIS Login ID`, `Section`; its "Points Possible" row and
  any row without a student id are skipped.

Ids are kept exactly as text (`0012345`). Excel's cp1252 is read when the file is not UTF-8.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = ("student_id", "id number", "sis user id", "idnumber")
FULL_NAME = ("name", "full name", "student")
FIRST_NAME = ("first_name", "first name", "firstname")
LAST_NAME = ("last_name", "last name", "surname", "lastname")
EMAIL = ("email", "email address")
CANVAS_ID = ("canvas_user_id",)


class ClassListProblem(ValueError):
    """The class list cannot be read or has no student id column (one line)."""


@dataclass(frozen=True)
class Person:
    """One student on the class list."""

    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""  # the Canvas user id, when the class list or the zip gives it

    @property
    def name(self) -> str:
        """"First Last", or the student id when the class list gave no name."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or ""


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte order mark), else Excel's cp1252."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ClassListProblem(f"class list {path}: cannot be read ({error.strerror})") from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(name) for name in names if name in header), None)


def split_name(full: str) -> tuple[str, str]:
    """(first, last) of "Jane Smith" (the first word is the given name) or Canvas's sortable
    "Smith, Jane"."""
    full = " ".join(full.split())
    if "," in full:
        last, first = (part.strip() for part in full.split(",", 1))
        return first, last
    first, _, last = full.partition(" ")  # "Zoë Ní Bhriain": the family name keeps its "Ní"
    return first, last


def read_class_list(path: Path) -> list[Person]:
    """Everyone on the class list, in file order; a student id listed twice is kept once."""
    rows = list(csv.reader(io.StringIO(read_text(path))))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    student = _column(header, STUDENT_ID)
    if student is None:
        raise ClassListProblem(
            f"class list {path}: no student id column (one of {', '.join(STUDENT_ID)}); "
            f"it has {', '.join(header) or 'no header'}"
        )
    canvas = _column(header, CANVAS_ID)
    if canvas is None and "sis user id" in header and "id" in header:
        canvas = header.index("id")  # Canvas's own export: ID is its user id
    full, first, last = (_column(header, n) for n in (FULL_NAME, FIRST_NAME, LAST_NAME))
    email = _column(header, EMAIL)
    people: dict[str, Person] = {}
    for row in rows[1:]:
        cells = [cell.strip() for cell in row] + [""] * (len(header) - len(row))
        student_id = cells[student]
        if not student_id or "points possible" in cells[0].lower():
            continue
        given, family = split_name(cells[full]) if full is not None else ("", "")
        people.setdefault(
            student_id,
            Person(
                student_id,
                cells[first] if first is not None else given,
                cells[last] if last is not None else family,
                cells[email] if email is not None else "",
                cells[canvas] if canvas is not None else "",
            ),
        )
    return list(people.values())
