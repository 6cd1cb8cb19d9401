"""Grade files that Moodle's and Canvas's gradebooks import, and a full CSV for spreadsheets.

`nbgrader export` writes unquoted CSV without per-question scores and lets `0012345` become a
number. These files are written with the csv module (`QUOTE_NONNUMERIC`): every text cell,
student ids included, is quoted; numbers are rounded to 2 decimal places, with a decimal point
and no thousands separator.

Pending manual grades (score NaN in the score table) are never silently zero unless asked:
- `pending="blank"`: a module total or capability percentage with a manual grade still to mark
  is left empty, so no gradebook records a provisional mark;
- `pending="zero"`: it counts the points graded so far, pending items scoring 0.
Either way a pending column counts each student's ungraded cells. A module a student has not
submitted is always empty. Per-item cells (csv format) are empty while ungraded.

A module total is nbgrader's score less the late penalty nbgrader recorded (as `nbgrader
export` computes it, never below 0); per-item and per-capability figures are the marks as
earned. A module with a due date gets a `<module> (deadline)` column: "on time", "late by 2
days; 1.4 points deducted", "within extension", "late (Canvas)" (`deadlines.timing`).

Encoding is UTF-8. The `csv` format starts with a byte order mark so Excel reads non-ASCII names;
Moodle strips a BOM but Canvas's importer does not, so their files have none. Excel still turns
`0012345` into 12345 when a CSV is double-clicked, quoted or not: open it with Data > From
Text/CSV and set `student_id` to Text. Moodle and Canvas read ids as text.

Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR, as a
student id or a name from the class list could) is written with a leading ' (`csv_safety`).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from digiready.course.csv_safety import safe_writer
from digiready.course.curriculum import Curriculum

Format = Literal["csv", "moodle", "canvas"]
Pending = Literal["blank", "zero"]
Cell = str | float | int | None
Row = list[Cell]

MOODLE_ID = "ID number"
MOODLE_NO_GRADE = "-"
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "Points Possible"
CANVAS_READ_ONLY = "(read only)"
PENDING_COLUMN = "Pending manual grades"
STATUS_SUFFIX = " (status)"
DEADLINE_SUFFIX = " (deadline)"
SUBMITTED = "submitted"
NO_SUBMISSION = "no submission"


@dataclass
class Total:
    """Points graded, points available, cells still to grade and (for a module) the late
    penalty, for one student."""

    points: float = 0.0
    max_points: float = 0.0
    pending: int = 0
    penalty: float = 0.0

    def add(self, score: float | None, max_score: float) -> None:
        """Count one graded cell; `None` is a manual grade still pending."""
        self.max_points += max_score
        if score is None:
            self.pending += 1
        else:
            self.points += score

    def points_cell(self, pending: Pending) -> float | None:
        """The total to report, or None when `pending="blank"` withholds it."""
        return None if self._withheld(pending) else round(self._earned(), 2)

    def percent_cell(self, pending: Pending) -> float | None:
        """The percentage to report, or None when withheld or nothing was available."""
        if self._withheld(pending) or not self.max_points:
            return None
        return round(100 * self._earned() / self.max_points, 2)

    def _earned(self) -> float:
        return max(0.0, self.points - self.penalty)

    def _withheld(self, pending: Pending) -> bool:
        return pending == "blank" and self.pending > 0


@dataclass(frozen=True)
class Cohort:
    """The selected modules' marks, indexed for writing one row per student."""

    students: list[str]
    modules: list[str]
    capabilities: list[str]
    items: list[tuple[str, str]]
    item_max: dict[tuple[str, str], float]
    item_scores: dict[tuple[str, str, str], float | None]
    module_totals: dict[tuple[str, str], Total]
    capability_totals: dict[tuple[str, str], Total]
    pending: dict[str, int]
    statuses: dict[tuple[str, str], str]
    deadlines: dict[tuple[str, str], str]

    def status(self, student: str, module: str) -> str:
        """What the student handed in for the module: "submitted", "no submission", or why it
        was flagged (e.g. "not imported from the LMS: not a notebook: essay.docx")."""
        known = self.statuses.get((student, module))
        if known is not None:
            return known
        return SUBMITTED if (student, module) in self.module_totals else NO_SUBMISSION

    def deadline(self, student: str, module: str) -> str:
        """How the submission stands against the module's due date ("" when unknown)."""
        return self.deadlines.get((student, module), "")

    @property
    def deadline_modules(self) -> list[str]:
        """The modules with a deadline column: those with a due date (or Canvas late marks)."""
        timed = {module for (_, module), text in self.deadlines.items() if text}
        return [module for module in self.modules if module in timed]

    def module_max(self, module: str) -> float:
        """The points available in a module."""
        return round(sum(v for (m, _), v in self.item_max.items() if m == module), 2)

    def module_total(self, student: str, module: str) -> Total | None:
        """A student's total on a module; None when they have not submitted it."""
        return self.module_totals.get((student, module))

    def capability_total(self, student: str, capability: str) -> Total | None:
        """A student's total over the items evidencing a capability, if they attempted any."""
        return self.capability_totals.get((student, capability))


def export_grades(
    scores: pd.DataFrame,
    curriculum: Curriculum,
    fmt: Format,
    out: Path,
    modules: list[str] | None = None,
    pending: Pending = "blank",
    *,
    capabilities: bool = False,
    class_list: dict[str, dict[str, str]] | None = None,
    statuses: dict[tuple[str, str], str] | None = None,
    deadlines: dict[tuple[str, str], str] | None = None,
    penalties: dict[tuple[str, str], float] | None = None,
) -> Path:
    """Write the score table (`cohort_scores.COLUMNS`) as a `fmt` grade file at `out`.

    `modules` defaults to every module in `scores`, written in curriculum order.
    `capabilities` adds per-capability percentage columns to the moodle and canvas files
    (the csv file always has them). `class_list` maps our student id to
    `{"name": ..., "id": ...}` (the Canvas user id, if known; "sortable", "Last, First", for
    Canvas's Student column, which it matches on last): everyone in it gets a row, with
    "no submission" for a module they did not hand in, and the csv and canvas files show the
    names. `statuses` maps (student, module) to what they handed in (`roster.submission_status`),
    `deadlines` to how it stood against the due date and `penalties` to nbgrader's late penalty
    in points, deducted from the module total.
    """
    if pending not in ("blank", "zero"):
        raise ValueError(f"pending must be 'blank' or 'zero', not {pending!r}")
    cohort = build_cohort(
        scores, curriculum, modules, list(class_list or {}), statuses, deadlines, penalties
    )
    if fmt == "csv":
        rows = csv_rows(cohort, pending, class_list or {})
    elif fmt == "moodle":
        rows = moodle_rows(cohort, pending, capabilities)
    elif fmt == "canvas":
        rows = canvas_rows(cohort, pending, capabilities, class_list or {})
    else:
        raise ValueError(f"unknown format {fmt!r}; use csv, moodle or canvas")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as file:
        safe_writer(file, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return out


def build_cohort(
    scores: pd.DataFrame,
    curriculum: Curriculum,
    modules: list[str] | None = None,
    everyone: list[str] | None = None,
    statuses: dict[tuple[str, str], str] | None = None,
    deadlines: dict[tuple[str, str], str] | None = None,
    penalties: dict[tuple[str, str], float] | None = None,
) -> Cohort:
    """Index the score table's rows for `modules`, checking ids against the curriculum;
    `everyone` (the class list) get rows even without a submission; `penalties` are deducted
    from module totals."""
    selected = select_modules(scores, curriculum, modules)
    item_max: dict[tuple[str, str], float] = {}
    used: set[str] = set()
    item_scores: dict[tuple[str, str, str], float | None] = {}
    module_totals: dict[tuple[str, str], Total] = defaultdict(Total)
    capability_totals: dict[tuple[str, str], Total] = defaultdict(Total)
    pending: dict[str, int] = defaultdict(int)
    for row in scores[scores["module"].isin(selected)].to_dict(orient="records"):
        student, item = str(row["student"]), (str(row["module"]), str(row["grade_id"]))
        score = None if pd.isna(row["score"]) else float(row["score"])
        max_score = float(row["max_score"])
        capability = None if pd.isna(row["capability"]) else str(row["capability"])
        item_max[item] = max(item_max.get(item, 0.0), max_score)
        item_scores[(student, *item)] = score
        module_totals[(student, item[0])].add(score, max_score)
        if capability is not None:
            used.add(capability)
            capability_totals[(student, capability)].add(score, max_score)
        pending[student] += int(score is None)
    for key, penalty in (penalties or {}).items():
        if key in module_totals:
            module_totals[key].penalty = penalty
    order = {module: i for i, module in enumerate(selected)}
    for capability in used:
        curriculum.capability(capability)
    return Cohort(
        students=sorted({student for student, _, _ in item_scores} | set(everyone or [])),
        modules=selected,
        capabilities=[c.id for c in curriculum.capabilities if c.id in used],
        items=sorted(item_max, key=lambda item: order[item[0]]),
        item_max=item_max,
        item_scores=item_scores,
        module_totals=dict(module_totals),
        capability_totals=dict(capability_totals),
        pending=dict(pending),
        statuses=dict(statuses or {}),
        deadlines=dict(deadlines or {}),
    )


def select_modules(
    scores: pd.DataFrame, curriculum: Curriculum, modules: list[str] | None
) -> list[str]:
    """The modules to export in curriculum order; every one must be known and have scores."""
    present = {str(module) for module in scores["module"]}
    wanted = set(present if modules is None else modules)
    for module in wanted:
        curriculum.module(module)
    missing = sorted(wanted - present)
    if missing or not wanted:
        raise ValueError(f"no scores to export for modules {missing or sorted(wanted)}")
    return [m.id for m in curriculum.modules if m.id in wanted]


def csv_rows(
    cohort: Cohort, pending: Pending, class_list: dict[str, dict[str, str]] | None = None
) -> list[Row]:
    """One row per student: `student_id`, `name`; per module `<m> (points)`, `<m> (max)`,
    `<m> (%)`, `<m> (status)` and, with a due date, `<m> (deadline)`; per capability
    `<capability id> (%)`; per item `<m>/<grade_id>`; `pending_manual`."""
    names = class_list or {}
    timed = cohort.deadline_modules
    header: Row = ["student_id", "name"]
    for module in cohort.modules:
        header += [f"{module} (points)", f"{module} (max)", f"{module} (%)"]
        header.append(module + STATUS_SUFFIX)
        header += [module + DEADLINE_SUFFIX] if module in timed else []
    header += [f"{capability} (%)" for capability in cohort.capabilities]
    header += [f"{module}/{grade_id}" for module, grade_id in cohort.items]
    rows = [header + ["pending_manual"]]
    for student in cohort.students:
        row: Row = [student, names.get(student, {}).get("name", "")]
        for module in cohort.modules:
            row += _csv_module_cells(cohort.module_total(student, module), pending)
            row.append(cohort.status(student, module))
            row += [cohort.deadline(student, module)] if module in timed else []
        row += _capability_cells(cohort, student, pending, cohort.capabilities)
        for module, grade_id in cohort.items:
            score = cohort.item_scores.get((student, module, grade_id))
            row.append(None if score is None else round(score, 2))
        rows.append(row + [cohort.pending.get(student, 0)])
    return rows


def moodle_rows(cohort: Cohort, pending: Pending, capabilities: bool) -> list[Row]:
    """Moodle's "Import grades > CSV file": `ID number`, a points column per module headed
    `<m> (out of <max>)`, `<capability id> (%)` columns if asked, `<m> (status)` and (with a
    due date) `<m> (deadline)` columns, `Pending manual grades`.

    Empty grades are written "-", Moodle's "no grade": a new grade item skips only "-", not an
    empty cell. To import: Grades > Import > CSV file, upload (encoding UTF-8, separator
    comma); under Identify user map from "ID number" to "ID number" (the profile field holding
    our student id); under Grade item mappings map each module or capability column to its
    grade item or "New grade item", leave the status, deadline and "Pending manual grades"
    columns as "Ignore", Upload grades.
    A new grade item is out of 100: set its maximum grade to the module's "out of" (without
    rescaling), or create the items with that maximum first and map onto them.
    """
    capability_ids = cohort.capabilities if capabilities else []
    header: Row = [MOODLE_ID]
    header += [f"{m} (out of {_plain(cohort.module_max(m))})" for m in cohort.modules]
    header += [f"{capability} (%)" for capability in capability_ids]
    header += [module + STATUS_SUFFIX for module in cohort.modules]
    timed = cohort.deadline_modules
    header += [module + DEADLINE_SUFFIX for module in timed]
    rows = [header + [PENDING_COLUMN]]
    for student in cohort.students:
        grades = _module_cells(cohort, student, pending)
        grades += _capability_cells(cohort, student, pending, capability_ids)
        no_blanks = [MOODLE_NO_GRADE if grade is None else grade for grade in grades]
        statuses = [cohort.status(student, module) for module in cohort.modules]
        statuses += [cohort.deadline(student, module) for module in timed]
        rows.append([student, *no_blanks, *statuses, cohort.pending.get(student, 0)])
    return rows


def canvas_rows(
    cohort: Cohort, pending: Pending, capabilities: bool, class_list: dict[str, dict[str, str]]
) -> list[Row]:
    """Canvas's gradebook import: `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`,
    a points column per module (header = module id), `<capability id> (%)` columns if asked,
    `Pending manual grades`; a second row "Points Possible" gives each column's maximum.

    Canvas matches a row to a student by `ID` (its own user id, from `class_list`), else by
    `SIS User ID` (our student id), else `SIS Login ID`, else by name. A student id that is a
    Canvas user id (imported from a Canvas zip without a class list) goes in `ID` only. The
    pending, `<module> (status)` and `<module> (deadline)` columns (the last for modules with a
    due date) are marked "(read only)" in Points Possible, which
    makes Canvas skip them as it skips the read-only totals of its own exports. To import:
    Grades > Import, choose the file and Upload Data; on the review page match any students or
    assignments Canvas could not (an unknown column becomes a new assignment worth its Points
    Possible), then Save Changes.
    """
    capability_ids = cohort.capabilities if capabilities else []
    timed = cohort.deadline_modules
    rows: list[Row] = [
        [
            *CANVAS_STUDENT_COLUMNS,
            *cohort.modules,
            *[f"{capability} (%)" for capability in capability_ids],
            *[module + STATUS_SUFFIX for module in cohort.modules],
            *[module + DEADLINE_SUFFIX for module in timed],
            PENDING_COLUMN,
        ],
        [
            CANVAS_POINTS_POSSIBLE,
            *[""] * (len(CANVAS_STUDENT_COLUMNS) - 1),
            *[cohort.module_max(module) for module in cohort.modules],
            *[100.0 for _ in capability_ids],
            *[CANVAS_READ_ONLY for _ in [*cohort.modules, *timed]],
            CANVAS_READ_ONLY,
        ],
    ]
    for student in cohort.students:
        known = class_list.get(student, {})
        canvas_id = known.get("id", "")
        rows.append(
            [
                known.get("sortable") or known.get("name") or student,
                canvas_id,
                "" if canvas_id == student else student,  # an id from a Canvas zip is its ID
                "",
                "",
                *_module_cells(cohort, student, pending),
                *_capability_cells(cohort, student, pending, capability_ids),
                *[cohort.status(student, module) for module in cohort.modules],
                *[cohort.deadline(student, module) for module in timed],
                cohort.pending.get(student, 0),
            ]
        )
    return rows


def _csv_module_cells(total: Total | None, pending: Pending) -> Row:
    if total is None:
        return [None, None, None]
    return [total.points_cell(pending), round(total.max_points, 2), total.percent_cell(pending)]


def _module_cells(cohort: Cohort, student: str, pending: Pending) -> Row:
    totals = [cohort.module_total(student, module) for module in cohort.modules]
    return [None if total is None else total.points_cell(pending) for total in totals]


def _capability_cells(
    cohort: Cohort, student: str, pending: Pending, capabilities: list[str]
) -> Row:
    totals = [cohort.capability_total(student, capability) for capability in capabilities]
    return [None if total is None else total.percent_cell(pending) for total in totals]


def _plain(number: float) -> str:
    """`12.0` as "12", `7.5` as "7.5": a number for a header."""
    return f"{number:.2f}".rstrip("0").rstrip(".")
