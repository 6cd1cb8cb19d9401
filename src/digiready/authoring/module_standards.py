"""What a complete module owes its students beyond well-formed items, measured from the notebook:
an honest time estimate, a jurisdiction box where it teaches law, and reflections marked on the
shared rubric. `digiready.authoring.check` turns these measurements into problems and warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from digiready.course.items import graded_items, nbgrader_meta
from digiready.course.rubric import Criterion, RubricError, read_rubric

READING_WPM = 180  # words of teaching text read per minute
MINUTES_PER_ITEM = 2  # per auto-graded item, on top of reading its prompt
WRITING_WPM = 20  # words of reflection written per minute
NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_WORD_LIMIT = re.compile(r"(\d{2,4})\s*(?:to|-|–)\s*(\d{2,4})\s+words|about\s+(\d{2,4})\s+words",
                         re.IGNORECASE)
_STATED_MINUTES = re.compile(r"\*\*Time:\*\*\s*about\s+(\d+)\s+minutes", re.IGNORECASE)
_JURISDICTION_HEADING = re.compile(r"^#{1,6}\s.*where (?:this|the) law applies", re.IGNORECASE
                                   | re.MULTILINE)
_MARK_SCHEME = re.compile(r"\*\*Mark scheme\b")


def word_count(text: str) -> int:
    """Words a reader reads: runs of letters and digits (markdown symbols and table rules
    are not words)."""
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class TimeEstimate:
    """The least time a module can honestly claim, and what it is made of."""

    reading_words: int
    auto_items: int
    reflection_words: int

    @property
    def minutes(self) -> float:
        return (self.reading_words / READING_WPM + MINUTES_PER_ITEM * self.auto_items
                + self.reflection_words / WRITING_WPM)

    def explain(self) -> str:
        """The sum in words, for the warning."""
        return (f"{self.reading_words} words read at {READING_WPM} a minute, {self.auto_items} "
                f"auto-graded items at {MINUTES_PER_ITEM} minutes each and "
                f"{self.reflection_words} words of reflection written at {WRITING_WPM} a minute")


def _is_written_answer(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def _expected_reflection_words(prompt: str, model_answer: str) -> int:
    """A stated word limit's upper bound ("250 to 400 words", "about 300 words") in the prompt,
    else the length of the model answer (the text before its mark scheme)."""
    limits = [int(match.group(2) or match.group(3)) for match in _WORD_LIMIT.finditer(prompt)]
    if limits:
        return max(limits)
    return word_count(_MARK_SCHEME.split(model_answer, maxsplit=1)[0])


def time_estimate(notebook: Any) -> TimeEstimate:
    """Reading words (every markdown cell a student sees, so not the model answers of written
    items), auto-graded items (completion items too: they take time) and the reflections'
    expected length."""
    reading = reflection = 0
    prompt = ""
    for cell in notebook.cells:
        if _is_written_answer(cell):
            reflection += _expected_reflection_words(prompt, str(cell.source))
            prompt = ""
        elif cell.cell_type == "markdown":
            reading += word_count(str(cell.source))
            prompt += "\n" + str(cell.source)
        elif nbgrader_meta(cell).get("grade"):
            prompt = ""  # the reflection's prompt starts after the last graded item
    autos = sum(1 for item in graded_items(notebook) if item.kind == "auto")
    return TimeEstimate(reading, autos, reflection)


def stated_minutes(notebook: Any) -> int | None:
    """The minutes the module's front matter states ("**Time:** about N minutes"), if any."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = _STATED_MINUTES.search(str(cell.source))
            if match:
                return int(match.group(1))
    return None


def jurisdiction_box_problem(notebook: Any) -> str | None:
    """None when a markdown cell has a heading "Where this law applies" and names all four UK
    nations; otherwise what is missing."""
    for cell in notebook.cells:
        source = str(cell.source)
        if cell.cell_type == "markdown" and _JURISDICTION_HEADING.search(source):
            missing = [nation for nation in NATIONS if nation not in source]
            if missing:
                return f"the jurisdiction box does not mention {', '.join(missing)}"
            return None
    return "no jurisdiction box (a text cell with a heading 'Where this law applies')"


@dataclass(frozen=True)
class RubricFinding:
    """One way a reflection's mark scheme falls short of the shared rubric."""

    cell_index: int
    message: str
    fix: str


def rubric_findings(notebook: Any, capability_ids: set[str]) -> list[RubricFinding]:
    """Every manually graded written answer is marked on the shared grid: its criteria's
    points add up to the cell's, each names a known capability, the cell's own capability is
    one of them, and its `assesses` tag lists exactly the criteria's capabilities."""
    findings = []
    for item in graded_items(notebook):
        cell = notebook.cells[item.cell_index]
        if item.kind != "manual" or item.completion or not _is_written_answer(cell):
            continue

        def finding(message: str, fix: str, index: int = item.cell_index) -> None:
            findings.append(RubricFinding(index, message, fix))

        try:
            criteria: list[Criterion] = read_rubric(str(cell.source))
        except RubricError as error:
            finding(f"the reflection's mark scheme is not the shared rubric: {error}",
                    "write it with digiready.authoring.cells.mark_scheme (one construct per "
                    "criterion, 0 / half / full, an anchor answer per level)")
            continue
        total = sum(criterion.points for criterion in criteria)
        if abs(total - item.points) > 1e-9:
            finding(f"the rubric's criteria add up to {total:g} points, the cell is worth "
                    f"{item.points:g}", "make the criteria's points add up to the cell's points")
        assessed = {criterion.capability for criterion in criteria}
        for unknown in sorted(assessed - capability_ids):
            finding(f"a rubric criterion assesses an unknown capability ({unknown!r})",
                    "use a capability id from curriculum.yml")
        if item.capability and item.capability not in assessed:
            finding(f"the cell's capability ({item.capability}) is not assessed by any criterion",
                    "tag the cell with the capability most of its criteria assess")
        tags = cell.metadata.get("digiready", {})
        if sorted(tags.get("assesses", [])) != sorted(assessed):
            finding("the reflection's `assesses` tag does not list exactly the capabilities its "
                    f"criteria assess ({', '.join(sorted(assessed))})",
                    'tag it "digiready": {"assesses": [...]} '
                    "(digiready.authoring.cells.written does)")
    return findings
