"""Due dates, submission times, extensions and late penalties, kept where nbgrader keeps them.

- A module's due date is nbgrader's `Assignment.duedate` in the course's gradebook (what
  `nbgrader db assignment add --duedate` sets). nbgrader stores naive UTC; digiready reads and
  writes UK local time (Europe/London: GMT in winter, BST in summer) and converts.
- A submission's time is nbgrader's `SubmittedAssignment.timestamp`, which nbgrader's autograde
  reads from `timestamp.txt` in the submission folder (`nbgrader collect` writes it, and so does
  `import-lms --worksheet` from Moodle's grading worksheet). Canvas gives no time, only a LATE
  mark in the file name, which `import-lms` keeps as `CANVAS-LATE.txt`.
- An extension is nbgrader's `SubmittedAssignment.extension` (time added to the due date). That
  exists only once work is handed in, and extensions are granted before, so digiready records
  them in `extensions-granted.csv` in the course root and sets nbgrader's on the submission
  whenever there is one: when they are granted, and before each student is graded.
- The penalty is nbgrader's: its `AssignLatePenalties` step, with the plugin and policy
  `nbgrader_config.py` names (`late_policy.UKLatePolicy`), stores `late_submission_penalty`.
  digiready runs that step again after it has decided the marks, and whenever the due date, an
  extension or the marks may have changed (`deadline`, `extensions`, `report`, `export`).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc

from digiready.course.paths import CourseLayout
from digiready.grading.late_policy import days_late
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, gradebook_url
from digiready.grading.submission_checks import CANVAS_LATE, TIMESTAMP

LONDON = ZoneInfo("Europe/London")
NBGRADER_TIME = "%Y-%m-%d %H:%M:%S.%f %Z"  # timestamp.txt as nbgrader's exchange writes it
EXTENSION_COLUMNS = ["student_id", "module", "new_due", "extra_days"]
ON_TIME = "on time"
WITHIN_EXTENSION = "within extension"
CANVAS_MARKED_LATE = "late (Canvas)"
NO_TIME = "no submission time"


class DeadlineProblem(ValueError):
    """Bad input: each of `problems` is one line naming the file (or value) and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ------------------------------------------------------------------ UK time


def to_utc(when: datetime) -> datetime:
    """nbgrader's form of a time: naive UTC. A naive `when` is UK local time."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=LONDON)
    return aware.astimezone(UTC).replace(tzinfo=None)


def parse_uk_time(text: str) -> datetime:
    """A date and time such as 2026-12-14T17:00 (UK time unless it gives an offset), as naive
    UTC; DeadlineProblem when it is not one."""
    text = text.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise DeadlineProblem(
            [f"{text!r} is not a date and time such as 2026-12-14T17:00"]
        ) from None
    try:
        date.fromisoformat(text)
    except ValueError:
        return to_utc(when)
    raise DeadlineProblem([f"{text!r} has no time of day: give one, such as {text}T17:00"])


def uk_text(utc: datetime) -> str:
    """'Monday 14 December 2026, 17:00 GMT' for a naive UTC time."""
    local = utc.replace(tzinfo=UTC).astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def nbgrader_timestamp(utc: datetime) -> str:
    """A naive UTC time as nbgrader writes `timestamp.txt`."""
    return utc.replace(tzinfo=UTC).strftime(NBGRADER_TIME)


def submission_time(folder: Path) -> datetime | None:
    """The time in a submission folder's `timestamp.txt`, read as nbgrader reads it (naive UTC);
    None when there is none or it cannot be read."""
    try:
        return parse_utc((folder / TIMESTAMP).read_text(encoding="utf-8").strip()) or None
    except (OSError, ValueError, OverflowError):
        return None


def timestamp_problem(folder: Path) -> str:
    """What is wrong with a submission folder's `timestamp.txt` ('' when it is absent, empty or
    a time). nbgrader 0.9.6 cannot report one it cannot read (its CourseDirectory has no `fail`
    for `get_existing_timestamp` to call), so grading checks first."""
    path = folder / TIMESTAMP
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            parse_utc(text)
    except OSError:
        return ""
    except (ValueError, OverflowError):
        return (f"{path} is not a time ({text[:60]!r}): correct it, as nbgrader writes it "
                "(2026-12-14 16:59:00.000000 UTC), or delete it")
    return ""


# ------------------------------------------------------------------ due dates


def due_dates(db_url: str) -> dict[str, datetime | None]:
    """Every module the gradebook knows, with its due date (naive UTC) or None."""
    with Gradebook(db_url) as gradebook:
        return {str(a.name): a.duedate for a in gradebook.assignments}


def set_due_date(db_url: str, module: str, due: datetime | None) -> None:
    """Set (or, with None, clear) nbgrader's due date of a module the gradebook knows."""
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment(module, duedate=due)


# ------------------------------------------------------------------ extensions


@dataclass(frozen=True)
class Extension:
    """An extension for one student and module: a new due date (naive UTC) or extra days."""

    student: str
    module: str
    new_due: datetime | None = None
    extra_days: float | None = None

    def length(self, due: datetime) -> timedelta:
        """nbgrader's `extension`: the time added to the module's due date."""
        if self.new_due is not None:
            return self.new_due - due
        return timedelta(days=self.extra_days or 0)

    def describe(self, due: datetime | None) -> str:
        """'to Friday 18 December 2026, 17:00 GMT' (or '3 extra days' without a due date)."""
        if self.new_due is not None:
            return "to " + uk_text(self.new_due)
        days = f"{self.extra_days or 0:g} extra day(s)"
        return days if due is None else f"{days}, to {uk_text(due + self.length(due))}"

    def row(self) -> list[str]:
        """Its row in the record (`EXTENSION_COLUMNS`), the new due date in UK time."""
        new_due = "" if self.new_due is None else self.new_due.replace(
            tzinfo=UTC).astimezone(LONDON).isoformat(timespec="minutes")
        days = "" if self.extra_days is None else f"{self.extra_days:g}"
        return [self.student, self.module, new_due, days]


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, or Excel's Windows encoding), keys lower-cased."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DeadlineProblem([f"{path}: cannot be read ({error.strerror})"]) from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        reader = csv.DictReader(io.StringIO(text))
        return [
            {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader
        ]
    except csv.Error as error:
        raise DeadlineProblem([f"{path}: not a CSV file ({error})"]) from error


def _extension(row: dict[str, str], where: str, due: datetime | None) -> Extension | str:
    """The row's extension, or what is wrong with it."""
    new_due, extra = row.get("new_due", ""), row.get("extra_days", "")
    if bool(new_due) == bool(extra):
        return f"{where}: give new_due or extra_days (one of them)"
    if due is None:
        return (f"{where}: {row['module']} has no due date: set it first with "
                f"`digiready deadline {row['module']} WHEN`")
    if extra:
        try:
            days = float(extra)
        except ValueError:
            return f"{where}: extra_days {extra!r} is not a number"
        if not 0 <= days <= 366:
            return f"{where}: extra_days {extra!r} is not between 0 and 366"
        return Extension(row["student_id"], row["module"], extra_days=days)
    try:
        when = parse_uk_time(new_due)
    except DeadlineProblem as problem:
        return f"{where}: new_due {problem}"
    if when <= due:
        return f"{where}: new_due {new_due!r} is not after the due date, {uk_text(due)}"
    return Extension(row["student_id"], row["module"], new_due=when)


def read_extensions(
    path: Path, students: Iterable[str], modules: Iterable[str], due: dict[str, datetime | None]
) -> list[Extension]:
    """The extensions in a lecturer's CSV (`student_id`, `module`, and `new_due` or
    `extra_days`; extra_days 0 takes an extension back); DeadlineProblem listing every bad row,
    each naming the file and row."""
    rows = _read_csv(path)
    header = set(rows[0]) if rows else set()
    if not {"student_id", "module"} <= header or not header & {"new_due", "extra_days"}:
        raise DeadlineProblem([
            f"{path}: needs the columns student_id, module and new_due or extra_days; has "
            f"{', '.join(sorted(header)) or 'no rows'}"
        ])
    known_students, known_modules = set(students), list(modules)
    problems: list[str] = []
    found: dict[tuple[str, str], Extension] = {}
    for number, row in enumerate(rows, start=2):
        where, student, module = f"{path} row {number}", row["student_id"], row["module"]
        if student not in known_students:
            problems.append(f"{where}: student {student!r} is not on the class list (record it "
                            "with `digiready class-list`)")
        elif module not in known_modules:
            problems.append(f"{where}: {module!r} is not a module: use one of "
                            f"{', '.join(known_modules)}")
        elif (student, module) in found:
            problems.append(f"{where}: a second extension for {student} on {module}")
        else:
            result = _extension(row, where, due.get(module))
            if isinstance(result, str):
                problems.append(result)
            else:
                found[(student, module)] = result
    if problems:
        raise DeadlineProblem(problems)
    return list(found.values())


def granted(root: Path) -> dict[tuple[str, str], Extension]:
    """The extensions recorded for the course, by (student, module)."""
    path = CourseLayout(root).extensions
    if not path.is_file():
        return {}
    found = {}
    try:
        for row in _read_csv(path):
            new_due = to_utc(datetime.fromisoformat(row["new_due"])) if row["new_due"] else None
            days = float(row["extra_days"]) if row["extra_days"] else None
            found[(row["student_id"], row["module"])] = Extension(
                row["student_id"], row["module"], new_due, days
            )
    except (KeyError, ValueError) as error:
        raise DeadlineProblem([
            f"{path}: damaged ({error}): correct it, or delete it and grant the extensions "
            "again with `digiready extensions FILE`"
        ]) from error
    return found


def record_extensions(root: Path, extensions: list[Extension]) -> None:
    """Add `extensions` to the course's record (replacing earlier ones for the same student and
    module; extra_days 0 takes one back), written whole or not at all."""
    merged = granted(root)
    for extension in extensions:
        merged[(extension.student, extension.module)] = extension
    kept = [e for e in merged.values() if e.new_due is not None or e.extra_days]
    path = CourseLayout(root).extensions
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXTENSION_COLUMNS)
        writer.writerows(e.row() for e in sorted(kept, key=lambda e: (e.module, e.student)))
    os.replace(partial, path)


def _set_extension(submission: Any, extension: Extension | None) -> None:
    due = submission.assignment.duedate
    submission.extension = extension.length(due) if extension and due else None


def apply_extension(root: Path, module: str, student: str) -> None:
    """Set nbgrader's extension on the student's submission from the record (none when none is
    granted), making the submission first when there is an extension to set (before grading)."""
    extension = granted(root).get((student, module))
    with Gradebook(gradebook_url(root)) as gradebook:
        try:
            submission = gradebook.find_submission(module, student)
        except MissingEntry:
            if extension is None:
                return
            gradebook.update_or_create_student(student)
            submission = gradebook.add_submission(module, student)
        _set_extension(submission, extension)
        gradebook.db.commit()


def reassess(root: Path, module: str) -> int:
    """Set each submission's extension from the record and assess nbgrader's late penalty again
    (after the due date or an extension changed); returns how many submissions there are."""
    extensions = granted(root)
    with Gradebook(gradebook_url(root)) as gradebook:
        for submission in gradebook.assignment_submissions(module):
            _set_extension(submission, extensions.get((str(submission.student_id), module)))
        gradebook.db.commit()
    return assess_late_penalties(root, module)


# ------------------------------------------------------------------ penalties and status


def _quiet_log() -> logging.Logger:
    """A logger for nbgrader's late-penalty step that keeps its warnings off the terminal."""
    log = logging.getLogger("digiready.late_penalties")
    log.setLevel(logging.ERROR)
    return log


def assess_late_penalties(root: Path, module: str, students: Iterable[str] | None = None) -> int:
    """Store nbgrader's `late_submission_penalty` for each submission of `module` (or only
    `students`') from the marks as they are now; returns how many were assessed.

    This is nbgrader's `AssignLatePenalties.preprocess` (nbgrader 0.9.6,
    preprocessors/latesubmissions.py) for every submission in one gradebook session: the
    plugin the course configures, asked only for late work, its answer kept between 0 and the
    score by the step's own check."""
    step = AssignLatePenalties(config=course_config(root / CONFIG_FILE, root), log=_quiet_log())
    chosen = None if students is None else set(students)
    count = 0
    with Gradebook(gradebook_url(root)) as gradebook:
        step.gradebook, step.assignment_id, step.notebook_id = gradebook, module, module
        step.init_plugin()
        for submission in gradebook.assignment_submissions(module):
            student = str(submission.student_id)
            if chosen is not None and student not in chosen:
                continue
            notebook = gradebook.find_submission_notebook(module, module, student)
            notebook.late_submission_penalty = None
            late = submission.total_seconds_late
            penalty = step.plugin_inst.late_submission_penalty(student, notebook.score, late) \
                if late > 0 else None
            if penalty is not None:
                notebook.late_submission_penalty = step._check_late_penalty(notebook, penalty)
            count += 1
        gradebook.db.commit()
    return count


def timing(
    due: datetime | None,
    extension: timedelta | None,
    submitted: datetime | None,
    canvas_late: bool = False,
    penalty: float = 0.0,
) -> str:
    """How a submission stands against its deadline: "on time", "late by 2 days" (each started
    24 hours; with the penalty nbgrader recorded), "within extension", "late (Canvas)", "no
    submission time", or "" when the module has no due date."""
    if submitted is None and canvas_late:
        return CANVAS_MARKED_LATE
    if due is None:
        return ""
    if submitted is None:
        return NO_TIME
    extended = due + (extension or timedelta(0))
    if submitted > extended:
        days = days_late((submitted - extended).total_seconds())
        text = f"late by {days} day{'s' if days != 1 else ''}"
        text += " after an extension" if extension else ""
        return text + (f"; {penalty:g} points deducted" if penalty else "")
    return WITHIN_EXTENSION if submitted > due else ON_TIME


def folder_timing(
    folder: Path, due: datetime | None, extension: Extension | None
) -> str:
    """`timing` of a submission folder not yet graded, with the extension granted (if any)."""
    length = extension.length(due) if extension and due else None
    return timing(due, length, submission_time(folder), (folder / CANVAS_LATE).is_file())
