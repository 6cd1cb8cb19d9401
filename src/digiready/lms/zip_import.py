"""`digiready import-lms`: bring an LMS "download all submissions" zip into nbgrader's layout.

Each student's notebook lands in `submitted/<student id>/<module>/<module>.ipynb`. The names
the zips use (checked against the Moodle and Canvas sources):

- Moodle 4.1+ folders: `Jane Smith_123456_assignsubmission_file/<file>`
- Moodle 3.1-4.0 folders: `Jane Smith_123456_assignsubmission_file_/<file>`
- Moodle flat files: `Jane Smith_123456_assignsubmission_file_<file>`
  (123456 is the participant id of this assignment, not a student id: a class list maps it)
- Canvas: `smithjane[_LATE]_<Canvas user id>_<file id>_<file>`; a re-uploaded file may be
  renamed `<file>-1.ipynb`.

Neither LMS puts a submission time in the names. Moodle's grading worksheet has it (column "Last
modified (submission)", in the downloading user's time zone, taken as UK time): with
`worksheet`, each student's is written as nbgrader's `timestamp.txt`, which nbgrader's
autograde reads. Canvas only marks a late file `_LATE_`: that mark is kept as `CANVAS-LATE.txt`.
Problems of the zip, the class list or the worksheet (not a zip, unsafe paths, too many entries,
names that fit no student, a time that cannot be read) raise `ImportProblem` before anything is
written.
A problem with one student's notebook is that student's: a notebook that is empty, not JSON or
not nbformat 4 is imported as it is (`digiready grade` records it as not gradable, or upgrades
an old format) with a warning; one that cannot be read from the zip or is larger than
`MAX_NOTEBOOK_BYTES` is not imported, and `NOT-IMPORTED.txt` with the reason takes its place,
so `digiready grade` records 0 for it, flagged with that reason. The notebooks are written to a
staging folder in the course root and moved into place.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from digiready.course.paths import SOURCE_DIR, CourseLayout
from digiready.grading.deadlines import nbgrader_timestamp, to_utc, uk_text
from digiready.grading.submission_checks import CANVAS_LATE, NOT_IMPORTED, TIMESTAMP

LmsFormat = Literal["moodle", "canvas"]

MAX_ENTRIES = 20_000
MAX_NOTEBOOK_BYTES = 100 * 2**20
# Class list columns (matched case-insensitively), in order of preference.
KEY_COLUMNS: dict[LmsFormat, tuple[str, ...]] = {
    "moodle": ("participant_id", "identifier"),
    "canvas": ("canvas_user_id", "id"),
}
STUDENT_COLUMNS: dict[LmsFormat, tuple[str, ...]] = {
    "moodle": ("student_id", "id number"),
    "canvas": ("student_id", "sis user id"),
}
_KEY_LABEL: dict[LmsFormat, str] = {"moodle": "participant", "canvas": "Canvas user"}
_NO_TIME: dict[LmsFormat, str] = {
    "moodle": "Moodle file names carry no submission time: no timestamp.txt written; add "
    "--worksheet with the assignment's grading worksheet to record the times",
    "canvas": "Canvas file names carry no submission time, only a LATE mark (kept as "
    f"{CANVAS_LATE}, shown as 'late (Canvas)'): no timestamp.txt written",
}
# Moodle's grading worksheet (Assignment > View all submissions > Download grading worksheet)
WORKSHEET_ID = "identifier"
WORKSHEET_TIME = "last modified (submission)"
# Moodle's English date (userdate, strftimedaydatetime), then as Excel may re-save it in the UK
WORKSHEET_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")

_MOODLE = re.compile(
    r"(?P<who>[^_]*)_(?P<person>\d+)_assignsubmission_[a-z][a-z0-9]*(?P<rest>_.*)?"
)
_CANVAS = re.compile(r"(?:(?P<who>\w*?)_)??(?:(?P<late>LATE)_)?(?P<person>\d+)_\d+_(?P<file>.+)")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_TRAILING_ID = re.compile(r"(\d+)\s*$")
_UTF8_NAME_FLAG = 0x800
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
)


@dataclass(frozen=True)
class _Notebook:
    """What to write for one student: the notebook's bytes, or why it was not imported."""

    data: bytes = b""
    warning: str = ""  # imported as it is, but grading will find it broken or old
    not_imported: str = ""  # the reason; NOT-IMPORTED.txt is written in its place
    filename: str = ""  # the name to write it under; "" means `<module>.ipynb`
    others: tuple[tuple[str, bytes], ...] = ()  # older notebooks, kept beside it, not graded
    timestamp: datetime | None = None  # when it was submitted (naive UTC), for timestamp.txt
    canvas_late: str = ""  # the zip entry Canvas marked LATE


class ImportProblem(ValueError):
    """The zip cannot be imported; nothing was written. One problem a line in the message."""

    def __init__(self, zip_path: Path, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{zip_path}: not imported, nothing written:\n{lines}")


@dataclass
class ImportReport:
    """What an import did: `skipped` maps a zip entry to why it was not imported; `problems`
    maps a student id to what is wrong with their notebook (imported as it is, or in
    `not_imported`, replaced by NOT-IMPORTED.txt)."""

    zip_path: Path
    module: str
    lms: LmsFormat
    imported: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    late: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    not_imported: dict[str, Path] = field(default_factory=dict)
    others: dict[str, list[str]] = field(default_factory=dict)  # older notebooks kept beside
    renamed: dict[str, str] = field(default_factory=dict)  # lone notebook kept under its name
    no_submission: list[str] = field(default_factory=list)  # on the class list, not in the zip
    times: dict[str, datetime] = field(default_factory=dict)  # from the worksheet (naive UTC)


@dataclass(frozen=True)
class _Name:
    """What an LMS entry name says: who (name, LMS id), the uploaded file, whether late."""

    who: str
    person: str
    filename: str
    late: bool


@dataclass(frozen=True)
class _Entry:
    """One file of the zip and what its name says."""

    info: zipfile.ZipInfo
    member: str
    name: _Name


@dataclass(frozen=True)
class _Choice:
    """What to import for one student: the notebook to grade (the most recent), the name to
    write it under, the older notebooks kept beside it; or, with no notebook, the files they
    handed in instead."""

    entry: _Entry | None
    filename: str = ""
    older: tuple[_Entry, ...] = ()
    not_notebooks: tuple[str, ...] = ()


def import_lms_zip(
    zip_path: Path,
    module: str,
    course_root: Path,
    class_list: Path | None = None,
    lms: Literal["auto", "moodle", "canvas"] = "auto",
    overwrite: bool = False,
    skip_unknown: bool = False,
    worksheet: Path | None = None,
) -> ImportReport:
    """Import the module's notebooks from an LMS zip into `course_root/submitted/`, with each
    student's submission time from Moodle's grading `worksheet` if given.

    A problem of the zip, class list or worksheet raises `ImportProblem` before a file is
    written; a problem with one student's notebook is reported in `problems` (see the module
    docstring).
    """
    problems = [f"module {module!r} is not a folder name"] if _bad_folder_name(module) else []
    if not problems and not (course_root / SOURCE_DIR / module).is_dir():
        known = sorted(p.name for p in (course_root / SOURCE_DIR).glob("*") if p.is_dir())
        raise ImportProblem(
            zip_path, [f"unknown module {module!r}: use one of {', '.join(known) or '(none)'}"]
        )
    with _open_zip(zip_path) as archive:
        members = _members(archive, problems)
        fmt = _detect_format([name for name, _ in members], lms, problems)
        if fmt is None:
            raise ImportProblem(zip_path, problems)
        report = ImportReport(zip_path, module, fmt)
        times = _worksheet_times(worksheet, fmt, problems) if worksheet else {}
        if worksheet is None:
            report.warnings.append(_NO_TIME[fmt])
        entries = _parse_all(members, fmt, skip_unknown, report, problems)
        mapping = _student_map(class_list, fmt, report, problems)
        if class_list is not None and not mapping:
            raise ImportProblem(zip_path, problems)
        by_student = _resolve(entries, mapping, fmt, skip_unknown, report, problems)
        chosen = _choose(by_student, module, report)
        chosen = _drop_existing(chosen, course_root, module, overwrite, report)
        notebooks = {
            sid: _with_time(_read_choice(archive, c, module), c, times)
            for sid, c in chosen.items()
        }
    if problems:
        raise ImportProblem(zip_path, problems)
    if mapping:
        report.no_submission = sorted(set(mapping.values()) - set(by_student))
    _install(notebooks, course_root, module)
    for student_id in sorted(chosen):
        notebook = notebooks[student_id]
        folder = _target(course_root, student_id, module)
        if notebook.not_imported:
            report.not_imported[student_id] = folder / NOT_IMPORTED
        else:
            report.imported[student_id] = folder / (notebook.filename or f"{module}.ipynb")
        if notebook.warning or notebook.not_imported:
            report.problems[student_id] = notebook.warning or notebook.not_imported
        if notebook.others:
            report.others[student_id] = [name for name, _ in notebook.others]
        if notebook.filename:
            report.renamed[student_id] = notebook.filename
        if notebook.timestamp is not None:
            report.times[student_id] = notebook.timestamp
    report.late = sorted(sid for sid, notebook in notebooks.items() if notebook.canvas_late)
    untimed = sorted(set(report.imported) - set(report.times))
    if worksheet is not None and untimed:
        report.warnings.append(
            f"no submission time in {worksheet} for {', '.join(untimed)}: no timestamp.txt "
            "written for them"
        )
    return report


def format_report(report: ImportReport) -> str:
    """The report as lines for the terminal."""
    lines = [
        f"{report.zip_path.name} ({report.lms}): imported {len(report.imported)} notebook(s) "
        f"of {report.module}"
    ]
    for student_id, path in report.imported.items():
        notes = [
            note
            for note, ids in (("LATE", report.late), ("replaced", report.replaced))
            if student_id in ids
        ]
        if student_id in report.times:
            notes.append(f"submitted {uk_text(report.times[student_id])}")
        if student_id in report.renamed:
            notes.append(
                f"the only notebook, named {report.renamed[student_id]}: graded as the "
                "module's notebook and flagged"
            )
        if student_id in report.others:
            notes.append(
                "the most recent of several; kept beside it, not graded, flagged: "
                + ", ".join(report.others[student_id])
            )
        if student_id in report.problems:
            notes.append(f"warning: {report.problems[student_id]}")
        lines.append(f"  {student_id}: {path}" + (f"  ({'; '.join(notes)})" if notes else ""))
    if report.not_imported:
        lines.append(
            f"not imported {len(report.not_imported)} notebook(s) (in their place "
            f"{NOT_IMPORTED} says why; digiready grade records 0 for them, flagged):"
        )
        lines += [f"  {sid}: {report.problems[sid]}" for sid in report.not_imported]
    if report.no_submission:
        lines.append(
            f"no submission in the zip from {len(report.no_submission)} student(s) on the class "
            "list (they appear in the report and exports as 'no submission'):"
        )
        lines += [f"  {sid}" for sid in report.no_submission]
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} file(s):")
        lines += [f"  {member}: {reason}" for member, reason in report.skipped.items()]
    lines += [f"warning: {warning}" for warning in report.warnings]
    return "\n".join(lines)


def _open_zip(zip_path: Path) -> zipfile.ZipFile:
    """Open the zip, or raise ImportProblem when it cannot be read."""
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportProblem(zip_path, [f"not a readable zip file ({error})"]) from error


def _members(archive: zipfile.ZipFile, problems: list[str]) -> list[tuple[str, zipfile.ZipInfo]]:
    """The zip's files by name, without folders and system litter; unsafe names are problems."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        problems.append(f"{len(infos)} entries: more than {MAX_ENTRIES}, refusing (zip bomb?)")
        return []
    members = []
    for info in infos:
        name = _entry_name(info)
        if _unsafe_path(name):
            problems.append(f"{name}: unsafe path (absolute or containing '..')")
        elif not info.is_dir() and not _is_junk(name):
            members.append((name, info))
    return members


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name, read as UTF-8 even when the zip did not flag it so (rubyzip does not)."""
    if info.flag_bits & _UTF8_NAME_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _unsafe_path(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) is not None or ".." in parts


def _is_junk(name: str) -> bool:
    """macOS and Windows litter added when a lecturer re-zips a folder."""
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1] in _JUNK_FILES or parts[-1].startswith("._")


def _bad_folder_name(text: str) -> bool:
    return not text or text.startswith(".") or any(char in text for char in "/\\\0")


def _parse(member: str, fmt: LmsFormat) -> _Name | None:
    """Read who submitted a file from its name in the zip, or None if it does not fit `fmt`."""
    parts = member.split("/")
    if fmt == "canvas":
        match = _CANVAS.fullmatch(parts[-1])
        if match is None:
            return None
        return _Name(match["who"] or "", match["person"], match["file"], match["late"] is not None)
    for index, part in enumerate(parts):
        match = _MOODLE.fullmatch(part)
        if match is None:
            continue
        who, person, rest = match["who"], match["person"], match["rest"] or ""
        if index < len(parts) - 1:  # a folder: `<prefix>/<file>` or `<prefix>_/<file>`
            return _Name(who, person, parts[-1], False) if rest in ("", "_") else None
        return _Name(who, person, rest[1:], False) if rest[1:] else None  # flat: `<prefix>_<file>`
    return None


def _detect_format(
    names: list[str], lms: Literal["auto", "moodle", "canvas"], problems: list[str]
) -> LmsFormat | None:
    """The forced format, or the one whose naming more entries follow."""
    if lms != "auto":
        return lms
    moodle = sum(_parse(name, "moodle") is not None for name in names)
    canvas = sum(_parse(name, "canvas") is not None for name in names)
    if moodle == canvas:
        problems.append(
            f"cannot tell the format: {moodle} entries are named like Moodle "
            "('Full Name_123_assignsubmission_file/...') and as many like Canvas "
            "('smithjane_123_456_file.ipynb'); choose the format explicitly"
            if moodle
            else "not an LMS submissions zip: no entry is named like a Moodle or Canvas submission"
        )
        return None
    return "moodle" if moodle > canvas else "canvas"


def _parse_all(
    members: list[tuple[str, zipfile.ZipInfo]],
    fmt: LmsFormat,
    skip_unknown: bool,
    report: ImportReport,
    problems: list[str],
) -> list[_Entry]:
    """Entries named as `fmt` names them; a notebook named otherwise is a problem."""
    entries = []
    for member, info in members:
        name = _parse(member, fmt)
        if name is not None:
            entries.append(_Entry(info, member, name))
        elif not _is_notebook(member):
            report.skipped[member] = "not a notebook"
        elif skip_unknown:
            report.skipped[member] = f"not named like a {fmt} submission: whose is it?"
        else:
            problems.append(f"{member}: not named like a {fmt} submission, so whose is it?")
    if not entries:
        problems.append(f"no entry is named like a {fmt} submission")
    return entries


def _is_notebook(name: str) -> bool:
    return name.lower().endswith(".ipynb")


def _student_map(
    class_list: Path | None, fmt: LmsFormat, report: ImportReport, problems: list[str]
) -> dict[str, str] | None:
    """LMS id -> student id from the class list; None means the Canvas user id is the student id."""
    if class_list is not None:
        return _read_class_list(class_list, fmt, problems)
    if fmt == "moodle":
        problems.append(
            "a Moodle zip needs a class list: participant ids change from assignment to "
            "assignment and are not student ids"
        )
    else:
        report.warnings.append("no class list: Canvas user ids are used as student ids")
    return None


def _read_class_list(path: Path, fmt: LmsFormat, problems: list[str]) -> dict[str, str]:
    """Read the class list CSV (UTF-8, or Excel's cp1252); rows lacking either id are ignored."""
    rows = _csv_rows(path, f"class list {path}", problems)
    if rows is None:
        return {}
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    key, student = _column(header, KEY_COLUMNS[fmt]), _column(header, STUDENT_COLUMNS[fmt])
    if key is None or student is None:
        wanted = " and ".join(
            " or ".join(columns) for columns in (KEY_COLUMNS[fmt], STUDENT_COLUMNS[fmt])
        )
        problems.append(f"class list {path}: needs columns {wanted}; has {', '.join(header)}")
        return {}
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        person, student_id = _person_id(cells[key]), cells[student].strip()
        if not student_id or person == "":
            continue
        where = f"class list {path} row {number}"
        if person is None:
            problems.append(f"{where}: no {_KEY_LABEL[fmt]} id in {cells[key]!r}")
        elif _bad_folder_name(student_id):
            problems.append(f"{where}: student id {student_id!r} cannot be a folder name")
        elif mapping.setdefault(person, student_id) != student_id:
            problems.append(f"{where}: {_KEY_LABEL[fmt]} {person} is also {mapping[person]}")
    if not mapping:
        problems.append(f"class list {path}: no row has both ids")
    return mapping


def _csv_rows(path: Path, where: str, problems: list[str]) -> list[list[str]] | None:
    """The rows of an LMS's CSV (UTF-8, or Excel's cp1252); None, with a problem, if unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        problems.append(f"{where}: cannot be read ({error.strerror})")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return list(csv.reader(io.StringIO(text)))


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(name) for name in names if name in header), None)


def _person_id(cell: str) -> str | None:
    """The id at the end of `123456` or `Participant 123456`; '' for a blank cell."""
    if not cell.strip():
        return ""
    match = _TRAILING_ID.search(cell)
    return match[1] if match else None


def _worksheet_times(
    path: Path, fmt: LmsFormat, problems: list[str]
) -> dict[str, datetime]:
    """Participant id -> submission time (naive UTC) from Moodle's grading worksheet; rows
    with no submission ("-") are left out. Problems for a Canvas zip, a file that is no
    worksheet and a time that cannot be read."""
    where = f"worksheet {path}"
    if fmt != "moodle":
        problems.append(f"{where}: --worksheet is Moodle's grading worksheet; Canvas marks late "
                        "files itself")
        return {}
    rows = _csv_rows(path, where, problems)
    if rows is None:
        return {}
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    key, when = _column(header, (WORKSHEET_ID,)), _column(header, (WORKSHEET_TIME,))
    if key is None or when is None:
        problems.append(f"{where}: needs Moodle's columns Identifier and Last modified "
                        f"(submission); has {', '.join(header) or 'nothing'}")
        return {}
    times: dict[str, datetime] = {}
    for number, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        person, value = _person_id(cells[key]), cells[when].strip()
        if person is None:
            problems.append(f"{where} row {number}: no participant id in {cells[key]!r}")
        elif person and value not in ("", "-"):
            parsed = _worksheet_time(value)
            if parsed is None:
                problems.append(
                    f"{where} row {number}: cannot read the submission time {value!r} (expected "
                    "Moodle's English form, 'Monday, 14 December 2026, 4:59 PM', or "
                    "2026-12-14 16:59)"
                )
            else:
                times[person] = parsed
    return times


def _worksheet_time(text: str) -> datetime | None:
    """A worksheet time (UK time) as naive UTC, or None when it is in no form we know."""
    for form in WORKSHEET_FORMATS:
        try:
            return to_utc(datetime.strptime(text, form))
        except ValueError:
            continue
    try:
        return to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _with_time(notebook: _Notebook, choice: _Choice, times: dict[str, datetime]) -> _Notebook:
    """The notebook with its submission time (from the worksheet) and Canvas's LATE mark."""
    if choice.entry is None or notebook.not_imported:
        return notebook
    name = choice.entry.name
    return replace(notebook, timestamp=times.get(name.person),
                   canvas_late=choice.entry.member if name.late else "")


def _resolve(
    entries: list[_Entry],
    mapping: dict[str, str] | None,
    fmt: LmsFormat,
    skip_unknown: bool,
    report: ImportReport,
    problems: list[str],
) -> dict[str, list[_Entry]]:
    """Group the entries by student id; people missing from the class list are problems."""
    by_student: dict[str, list[_Entry]] = defaultdict(list)
    people: dict[str, str] = {}
    for entry in entries:
        person = entry.name.person
        student_id = person if mapping is None else mapping.get(person)
        if student_id is None:
            reason = f"{entry.name.who} ({_KEY_LABEL[fmt]} {person}) is not in the class list"
            if skip_unknown:
                report.skipped[entry.member] = reason
            else:
                _add_once(problems, reason)
        elif people.setdefault(student_id, person) != person:
            other = people[student_id]
            _add_once(
                problems, f"student {student_id} is both {_KEY_LABEL[fmt]} {other} and {person}"
            )
        else:
            by_student[student_id].append(entry)
    return by_student


def _add_once(problems: list[str], problem: str) -> None:
    if problem not in problems:
        problems.append(problem)


def _choose(
    by_student: dict[str, list[_Entry]], module: str, report: ImportReport
) -> dict[str, _Choice]:
    """Each student's most recent notebook (by the LMS's order, then the file's time, then the
    name most like `<module>.ipynb`), with their older notebooks kept beside it; a student with
    no notebook at all has what they handed in recorded instead. Other files are skipped."""
    wanted = _words(module)
    chosen: dict[str, _Choice] = {}
    for student_id, entries in sorted(by_student.items()):
        notebooks = [entry for entry in entries if _is_notebook(entry.name.filename)]
        for entry in entries:
            if entry not in notebooks and notebooks:
                report.skipped[entry.member] = f"{student_id}: not a notebook"
        if not notebooks:
            names = tuple(sorted(entry.name.filename for entry in entries))
            chosen[student_id] = _Choice(None, not_notebooks=names)
            continue
        notebooks.sort(key=lambda entry: _recency(entry, wanted), reverse=True)
        latest, older = notebooks[0], tuple(notebooks[1:])
        fits = _extra_words(latest.name.filename, wanted) is not None
        filename = "" if fits or older else _safe_filename(latest.name.filename, module)
        chosen[student_id] = _Choice(latest, filename, older)
    return chosen


def _recency(entry: _Entry, wanted: list[str]) -> tuple[int, tuple[int, ...], int, str]:
    """Sort key, larger is more recent: Canvas's file id (it grows with each upload), the
    file's time in the zip, then how well the name fits the module."""
    match = re.fullmatch(r"(?:.*_)?\d+_(\d+)_.+", entry.member.split("/")[-1])
    upload = int(match[1]) if match else 0
    extra = _extra_words(entry.name.filename, wanted)
    fit = -1000 if extra is None else -extra - (entry.name.filename != "".join(wanted))
    return upload, tuple(entry.info.date_time), fit, entry.member


def _safe_filename(filename: str, module: str, taken: tuple[str, ...] = ()) -> str:
    """A notebook's own name, safe to write in the submission folder, never the module's name
    or one already `taken`."""
    stem = re.sub(r"[^\w .()-]", "_", filename[: -len(".ipynb")]).strip(" .") or "notebook"
    name = f"{stem}.ipynb"
    number = 1
    while name == f"{module}.ipynb" or name in taken:
        number += 1
        name = f"{stem} (older {number - 1}).ipynb"
    return name


def _words(text: str) -> list[str]:
    """Lowercase letter runs, and number runs without leading zeros: '09-On' -> ['9', 'on']."""
    return [
        (word.lstrip("0") or "0") if word.isdigit() else word
        for word in _WORD.findall(text.lower())
    ]


def _extra_words(filename: str, wanted: list[str]) -> int | None:
    """How many words the name has beyond the module's, or None if it lacks them in order.

    So `Copy of 09 Online Safeguarding (1).ipynb` fits `09-online-safeguarding` with 3 extra
    words, but `10-online-safeguarding.ipynb` does not fit.
    """
    words = _words(filename[: -len(".ipynb")])
    size = len(wanted)
    if any(words[start : start + size] == wanted for start in range(len(words) - size + 1)):
        return len(words) - size
    return None


def _target(course_root: Path, student_id: str, module: str) -> Path:
    return CourseLayout(course_root).submission(student_id, module)


def _drop_existing(
    chosen: dict[str, _Choice],
    course_root: Path,
    module: str,
    overwrite: bool,
    report: ImportReport,
) -> dict[str, _Choice]:
    """Leave out students who already have a submission, unless `overwrite`."""
    kept = {}
    for student_id, choice in chosen.items():
        target = _target(course_root, student_id, module)
        if not target.exists():
            kept[student_id] = choice
        elif overwrite:
            report.replaced.append(student_id)
            kept[student_id] = choice
        else:
            for entry in (choice.entry, *choice.older):
                if entry is not None:
                    report.skipped[entry.member] = (
                        f"{student_id}: {target} already exists (not overwritten)"
                    )
    return kept


def _read_choice(archive: zipfile.ZipFile, choice: _Choice, module: str) -> _Notebook:
    """What to write for one student's choice: the notebook (under its name when it is a lone
    notebook named otherwise), the older ones beside it, or why nothing was imported."""
    if choice.entry is None:
        return _Notebook(not_imported="not a notebook: " + ", ".join(choice.not_notebooks))
    notebook = _read_notebook(archive, choice.entry)
    others: list[tuple[str, bytes]] = []
    for entry in choice.older:
        old = _read_notebook(archive, entry)
        if not old.not_imported:
            taken = tuple(name for name, _ in others)
            others.append((_safe_filename(entry.name.filename, module, taken), old.data))
    return _Notebook(
        notebook.data, notebook.warning, notebook.not_imported, choice.filename, tuple(others)
    )


def _read_notebook(archive: zipfile.ZipFile, entry: _Entry) -> _Notebook:
    """The entry's bytes, with a warning when it is no nbformat 4 notebook; or, when it cannot
    be read or is too large, the reason it is not imported."""
    try:
        with archive.open(entry.info) as handle:
            data = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except _READ_ERRORS as error:
        return _Notebook(not_imported=f"{entry.member}: cannot be read from the zip ({error})")
    if len(data) > MAX_NOTEBOOK_BYTES:
        return _Notebook(
            not_imported=f"{entry.member}: larger than {MAX_NOTEBOOK_BYTES:,} bytes, not imported"
        )
    if not data.strip():
        return _Notebook(data, f"{entry.member} is an empty file (grade will record 0)")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return _Notebook(data, f"{entry.member} is not a notebook (not JSON; grade will record 0)")
    version = notebook.get("nbformat") if isinstance(notebook, dict) else None
    if version != 4:
        return _Notebook(
            data, f"{entry.member} is not an nbformat 4 notebook (format {version}; "
            "grade upgrades formats 1-3 and records 0 for anything else)"
        )
    return _Notebook(data)


class InstallFailed(OSError):
    """Moving the new submissions into place failed; earlier submissions were put back."""


def _move(source: Path, target: Path) -> None:
    """Move a folder (one rename within the course root)."""
    source.rename(target)


def _write_new(folder: Path, notebook: _Notebook, module: str) -> None:
    folder.mkdir(parents=True)
    if notebook.not_imported:
        (folder / NOT_IMPORTED).write_text(notebook.not_imported + "\n", encoding="utf-8")
        return
    (folder / (notebook.filename or f"{module}.ipynb")).write_bytes(notebook.data)
    for name, data in notebook.others:
        (folder / name).write_bytes(data)
    if notebook.timestamp is not None:
        (folder / TIMESTAMP).write_text(nbgrader_timestamp(notebook.timestamp), encoding="utf-8")
    if notebook.canvas_late:
        (folder / CANVAS_LATE).write_text(
            f"Canvas marked this submission LATE: {notebook.canvas_late}\n", encoding="utf-8"
        )


def _restore(moved: list[tuple[Path, Path | None]]) -> None:
    """Undo the moves: take each new submission out of place and put the earlier one back."""
    for target, old in reversed(moved):
        if target.exists():
            shutil.rmtree(target)
        if old is not None and old.exists():
            _move(old, target)


def _install(notebooks: dict[str, _Notebook], course_root: Path, module: str) -> None:
    """Write the notebooks (or NOT-IMPORTED.txt) to a staging folder, then move each into
    submitted/. An earlier submission is moved aside into the staging folder and deleted only
    once every new one is in place; if a move fails, every earlier submission is put back and
    InstallFailed is raised (if even that fails, the staging folder is kept and named)."""
    if not notebooks:
        return
    staging = Path(tempfile.mkdtemp(prefix=".lms-import-", dir=course_root))
    moved: list[tuple[Path, Path | None]] = []
    clean = True
    try:
        for student_id, notebook in notebooks.items():
            _write_new(staging / "new" / student_id, notebook, module)
        (staging / "old").mkdir()
        for student_id in notebooks:
            target = _target(course_root, student_id, module)
            old = staging / "old" / student_id if target.exists() else None
            if old is not None:
                _move(target, old)
            moved.append((target, old))
            target.parent.mkdir(parents=True, exist_ok=True)
            _move(staging / "new" / student_id, target)
    except OSError as error:
        try:
            _restore(moved)
        except OSError as undo:
            clean = False
            raise InstallFailed(
                f"moving the new submissions into place failed ({error}) and so did putting "
                f"the earlier ones back ({undo}): they are in {staging / 'old'}"
            ) from error
        raise InstallFailed(
            f"moving the new submissions into place failed ({error}); nothing was changed, "
            "earlier submissions are as they were"
        ) from error
    finally:
        if clean:
            shutil.rmtree(staging, ignore_errors=True)
