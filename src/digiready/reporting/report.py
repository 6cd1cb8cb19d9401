"""The cohort readiness report: one self-contained HTML page, a CSV per table, and a one-page
summary for each student.

Everything from data is HTML-escaped. Charts are PNG data URIs with alt text written from the
data; levels are always shown as numbers, so colour only repeats what the text says.
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from digiready.course.csv_safety import safe_writer
from digiready.course.curriculum import Capability, Curriculum
from digiready.grading.nbgrader_ext import question_label
from digiready.reporting.readiness import (
    MIN_ITEMS,
    MIN_POINTS,
    Ratings,
    confidence_vs_competence,
    filter_pathway,
    find_pathway,
    item_analysis,
    module_reliability,
    module_scores,
    not_yet_ready,
    pathway_capabilities,
    readiness_levels,
    weakest_capabilities,
)
from digiready.student.charts import figure_html

STUDENTS_DIR = "students"
REPORT_FILE = "report.html"
ALL_LEVELS = (0, 1, 2, 3, 4)
NOT_ASSESSED = "n/a"
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}
_SAFE_CHARACTER = re.compile(r"[A-Za-z0-9_-]")
_CAPABILITY_ID = re.compile(r"\b(?:purpose|practice|impact)\.[a-z_]+")

Cell = str | float | int
Formatter = Callable[[Any], str]

CSS = """
body { font-family: system-ui, "Segoe UI", Arial, sans-serif; line-height: 1.5; color: #1a1a1a;
  background: #fff; margin: 0; }
main { max-width: 80rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #767676; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #eeeeee; position: sticky; top: 0; }
td.num { text-align: right; }
.scroll { overflow: auto; max-height: 40rem; margin-bottom: 1.5rem; }
.heat td { text-align: center; min-width: 2.5rem; }
.heat thead th { font-size: 0.8rem; max-width: 8rem; }
.l0 { background: #eff3ff; } .l1 { background: #c6dbef; } .l2 { background: #9ecae1; }
.l3 { background: #6baed6; } .l4 { background: #4292c6; }
.na { color: #595959; }
.below { font-weight: bold; text-decoration: underline; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
figcaption { font-style: italic; }
a { color: #1a4f8b; }
@media print { .scroll { max-height: none; overflow: visible; } thead th { position: static; } }
"""


@dataclass(frozen=True)
class Tables:
    """Every table the report shows and writes as CSV."""

    levels: pd.DataFrame
    modules: pd.DataFrame
    items: pd.DataFrame
    weakest: pd.DataFrame
    not_ready: pd.DataFrame
    confidence: pd.DataFrame
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)
    submissions: pd.DataFrame = field(default_factory=pd.DataFrame)  # all but "submitted"
    references: pd.DataFrame = field(default_factory=pd.DataFrame)  # reference students' scores


@dataclass(frozen=True)
class Settings:
    """What the tables were made with, and the curriculum's texts the pages quote."""

    curriculum: Curriculum
    threshold: float
    target_level: int
    pathway: str | None
    student_pages: bool
    names: Mapping[str, str] = field(default_factory=dict)
    questions: Mapping[str, str] = field(default_factory=dict)  # grade id -> "Question 1.1 — …"
    cohort: str = ""
    on: date = field(default_factory=date.today)

    def question(self, grade_id: str) -> str:
        """"Question 4.1 — Rosa, 79, …" for a grade id, or its label without a title."""
        return self.questions.get(grade_id) or question_label(grade_id)

    def who(self, student: str) -> str:
        """"0012345 Jane Smith", or the id alone when the class list gave no name."""
        name = self.names.get(student, "")
        return f"{student} {name}" if name else student

    @cached_property
    def _capabilities(self) -> dict[str, Capability]:
        return {capability.id: capability for capability in self.curriculum.capabilities}

    @cached_property
    def _module_titles(self) -> dict[str, str]:
        return {module.id: f"{module.id} {module.title}" for module in self.curriculum.modules}

    def title(self, capability_id: str) -> str:
        """The capability's title, or its id when the curriculum does not know it."""
        known = self._capabilities.get(capability_id)
        return known.title if known else capability_id

    def module_title(self, module_id: str) -> str:
        """The module as "NN-slug Title", or its id when the curriculum does not know it."""
        return self._module_titles.get(module_id, module_id)

    def level_name(self, level: int) -> str:
        return "not yet at level 1" if level == 0 else self.curriculum.levels[level]

    def statement(self, capability_id: str, level: int) -> str | None:
        """The "I can" statement of a capability at a level 1–4, if there is one."""
        known = self._capabilities.get(capability_id)
        return known.can_statements[level - 1] if known and 1 <= level <= 4 else None


def page_name(student: str) -> str:
    """A file name for the student's page, safe on any system: characters other than ASCII
    letters, digits, "_" and "-" are written as %XX (UTF-8 bytes), so distinct ids give
    distinct names (up to letter case), and Windows device names are escaped too."""
    stem = "".join(
        char if _SAFE_CHARACTER.fullmatch(char) else "".join(f"%{b:02X}" for b in char.encode())
        for char in student
    )
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    return f"{stem or '%'}.html"


@lru_cache(maxsize=4096, typed=True)
def _e(value: object) -> str:
    """`value` as HTML-escaped text (cached: report cells repeat the same few texts)."""
    return html.escape(str(value))


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _fixed(digits: int) -> Formatter:
    return lambda value: "" if _missing(value) else f"{float(value):.{digits}f}"


def _percent(value: Any) -> str:
    return "" if _missing(value) else f"{100 * float(value):.0f}%"


def _plain(value: Any) -> str:
    return "" if _missing(value) else str(value)


# ---------------------------------------------------------------- tables


def build_tables(
    scores: pd.DataFrame,
    capabilities: Sequence[str],
    *,
    self_ratings: Mapping[str, Ratings] | None,
    answers: pd.DataFrame | None,
    threshold: float,
    target_level: int,
    everyone: Collection[str] = (),
) -> Tables:
    """All the report's tables, for `capabilities` in this order; `everyone` (the class list)
    are rows of the readiness table even with nothing marked."""
    levels = readiness_levels(scores, threshold).reindex(columns=list(capabilities))
    students = set(levels.index) | set(everyone)
    levels = levels.reindex(pd.Index(sorted(students), name="student")).astype("Int64")
    ratings = {
        student: {key: rating for key, rating in given.items() if key in capabilities}
        for student, given in (self_ratings or {}).items()
        if student in students
    }
    return Tables(
        levels=levels,
        modules=module_scores(scores),
        items=item_analysis(scores, answers),
        weakest=weakest_capabilities(levels, target_level),
        not_ready=not_yet_ready(levels, target_level),
        confidence=confidence_vs_competence(levels, ratings),
        reliability=module_reliability(scores),
    )


def report_capabilities(
    curriculum: Curriculum, scores: pd.DataFrame, pathway: str | None
) -> list[str]:
    """The capabilities to report, in curriculum order (those of the pathway only, when given),
    then any the scores name that the curriculum does not."""
    chosen = (
        pathway_capabilities(curriculum, pathway)
        if pathway is not None
        else [c.id for c in curriculum.capabilities]
    )
    named = scores["capability"].dropna().unique()
    extra = sorted(set(named) - {c.id for c in curriculum.capabilities})
    return chosen + extra


# ---------------------------------------------------------------- CSV


def _csv_column(column: pd.Series) -> list[Cell]:
    """A column's values as the csv module should write them: blank when missing, Python
    numbers (floats to 4 decimals), booleans as text."""
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(str)
    elif pd.api.types.is_float_dtype(column):
        column = column.round(4)
    values: list[Cell] = column.astype(object).where(column.notna(), "").tolist()
    return values


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` (no index) quoting every text field, so ids such as 0012345 stay text;
    text a spreadsheet would run as a formula gets a leading ' (`csv_safety`)."""
    columns = [_csv_column(frame[column]) for column in frame.columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = safe_writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow([str(column) for column in frame.columns])
        writer.writerows(zip(*columns, strict=True))


def write_csvs(tables: Tables, out_dir: Path) -> None:
    """One CSV per table in `out_dir`."""
    frames = {
        "readiness": tables.levels.reset_index(),
        "module_scores": tables.modules,
        "item_analysis": tables.items,
        "weakest_capabilities": tables.weakest,
        "not_yet_ready": tables.not_ready,
        "confidence_vs_competence": tables.confidence,
        "module_reliability": tables.reliability,
        "submissions": tables.submissions,
    }
    for name, frame in frames.items():
        write_csv(frame, out_dir / f"{name}.csv")


# ---------------------------------------------------------------- HTML building blocks


def html_table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    caption: str,
    numeric: Sequence[int] = (),
) -> str:
    """A table of already-escaped cells; the first cell of each row is its row header."""
    head = "".join(f'<th scope="col">{_e(header)}</th>' for header in headers)
    body = "".join(
        f'<tr><th scope="row">{row[0]}</th>'
        + "".join(
            f'<td class="num">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row[1:], start=1)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def frame_rows(frame: pd.DataFrame, formats: Mapping[str, Formatter]) -> list[list[str]]:
    """The chosen columns of `frame` as escaped text, each through its formatter."""
    columns = [frame[column].map(formatter) for column, formatter in formats.items()]
    return [[_e(cell) for cell in row] for row in zip(*columns, strict=True)]


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def rule_text(settings: Settings) -> str:
    """How a level is worked out, in plain words."""
    share = f"{settings.threshold:.0%}"
    return (
        f"A student reaches level L in a capability when they have marked work at level L (at "
        f"least {MIN_ITEMS} questions worth at least {MIN_POINTS:g} points at that level) and "
        f"have earned at least {share} of all the points available for that capability at "
        f"levels 1 to L together. Level 0 means there is marked work but level 1 is not reached "
        f'yet; "{NOT_ASSESSED}" means not assessed (no marked work for that capability). Written '
        f"answers still waiting for a manual mark are left out until they are marked, and "
        f"completion items (a self-rating, a plan) are never evidence of a level."
    )


# ---------------------------------------------------------------- report sections


def _pathway_text(settings: Settings) -> str:
    if settings.pathway is None:
        return "all modules"
    return f"{find_pathway(settings.curriculum, settings.pathway).title} ({settings.pathway})"


def _summary_section(scores: pd.DataFrame, tables: Tables, settings: Settings) -> str:
    pending = int(tables.modules["pending_manual"].sum())
    facts = [
        ["Students", str(len(tables.levels))],
        ["Modules", str(scores["module"].nunique())],
        ["Graded items", str(len(tables.items))],
        ["Marks waiting for manual grading", str(pending)],
        ["Threshold for a level", f"{settings.threshold:.0%} of the points available"],
        ["Target level", str(settings.target_level)],
        ["Pathway", _pathway_text(settings)],
    ]
    summary = html_table(
        [[_e(name), _e(value)] for name, value in facts], ["Measure", "Value"], "Cohort summary"
    )
    by_module = (
        tables.modules.groupby("module", sort=True)
        .agg(
            students=("student", "size"),
            mean=("percent", "mean"),
            median=("percent", "median"),
            pending=("pending_manual", "sum"),
        )
        .reset_index()
    )
    by_module.insert(0, "title", by_module["module"].map(settings.module_title))
    module_rows = frame_rows(
        by_module,
        {
            "title": _plain,
            "students": _plain,
            "mean": _fixed(1),
            "median": _fixed(1),
            "pending": _plain,
        },
    )
    modules = html_table(
        module_rows,
        ["Module", "Students", "Mean percent", "Median percent", "Marks waiting"],
        "Module results: percent of the marked points, per module",
        numeric=(1, 2, 3, 4),
    )
    levels = "".join(f"<li>{level}: {_e(settings.level_name(level))}</li>" for level in ALL_LEVELS)
    return (
        f"<h2>Cohort summary</h2>\n{summary}\n<h3>How levels are worked out</h3>\n"
        f"<p>{_e(rule_text(settings))}</p>\n<ul>{levels}</ul>\n"
        f"<h3>Modules</h3>\n{modules}"
    )


def ready_students(levels: pd.DataFrame, target_level: int) -> tuple[list[str], list[str]]:
    """(ready, not yet ready): ready means assessed at the target level or above in every
    capability the cohort's marked work assesses; no marked work in one of them is not ready."""
    assessed = levels.loc[:, levels.notna().any().to_numpy()]
    if assessed.shape[1] == 0:
        return [], [str(student) for student in levels.index]
    ready_mask = assessed.ge(target_level).fillna(False).all(axis="columns")
    ready = [str(s) for s in levels.index[ready_mask.to_numpy()]]
    return ready, [str(s) for s in levels.index[~ready_mask.to_numpy()]]


def _headline_section(tables: Tables, settings: Settings) -> str:
    ready, not_ready = ready_students(tables.levels, settings.target_level)
    cohort = settings.cohort or "the cohort"
    text = (
        f"{settings.on:%-d %B %Y}, {cohort}, pathway: {_pathway_text(settings)}. "
        f"{len(ready)} of {len(ready) + len(not_ready)} students are ready (level "
        f"{settings.target_level} or above in every capability assessed so far); "
        f"{len(not_ready)} are not yet ready."
    )
    references = tables.references["student"].nunique() if not tables.references.empty else 0
    if references:
        text += f" {references} reference submission(s) are not counted."
    links = ", ".join(
        f'<a href="{name}.csv">{name}.csv</a>'
        for name in ("readiness", "not_yet_ready", "submissions", "module_scores",
                     "item_analysis", "module_reliability")
    )
    return (
        f'<section aria-labelledby="headline"><h2 id="headline">Headline</h2>'
        f'<p class="headline">{_e(text)}</p><p>Tables as CSV: {links}.</p></section>'
    )


def _submissions_section(tables: Tables, settings: Settings) -> str:
    heading = "<h2>Students without a gradable submission</h2>"
    if tables.submissions.empty:
        return f"{heading}\n<p>Every student has a submission for every module.</p>"
    rows = [
        [_student_link(str(student), settings), _e(settings.module_title(str(module))),
         _e(status)]
        for student, module, status in tables.submissions[["student", "module", "status"]]
        .itertuples(index=False, name=None)
    ]
    table = html_table(
        rows, ["Student", "Module", "What there is"],
        "Students on the class list with no submission, or a submission that could not be "
        "graded as handed in (flagged for review)",
    )
    return f"{heading}\n{table}"


def _references_section(tables: Tables, settings: Settings) -> str:
    if tables.references.empty:
        return ""
    rows = frame_rows(
        tables.references.assign(title=tables.references["module"].map(settings.module_title)),
        {"student": _plain, "title": _plain, "percent": _fixed(1)},
    )
    table = html_table(
        rows, ["Reference", "Module", "Percent"],
        "Reference submissions (not students, never counted in the cohort figures)",
        numeric=(2,),
    )
    return f"<h2>Reference submissions</h2>\n{table}"


def _level_cell(level: Any, target_level: int) -> str:
    if _missing(level):
        return f'<td class="na">{NOT_ASSESSED}</td>'
    value = int(level)
    below = " below" if value < target_level else ""
    return f'<td class="l{value}{below}">{value}</td>'


def _student_link(student: str, settings: Settings) -> str:
    if not settings.student_pages:
        return _e(settings.who(student))
    href = f"{STUDENTS_DIR}/{quote(page_name(student), safe='')}"
    return f'<a href="{_e(href)}">{_e(settings.who(student))}</a>'


def _heatmap_section(tables: Tables, settings: Settings) -> str:
    levels = tables.levels.loc[:, tables.levels.notna().any().to_numpy()]  # no all-n/a column
    head = '<th scope="col">Student</th>' + "".join(
        f'<th scope="col">{_e(settings.title(capability))}</th>' for capability in levels.columns
    )
    values = levels.astype(object).to_numpy()
    body = "".join(
        f'<tr><th scope="row">{_student_link(str(student), settings)}</th>'
        + "".join(_level_cell(level, settings.target_level) for level in row)
        + "</tr>"
        for student, row in zip(levels.index, values, strict=True)
    )
    caption = (
        f"Assessed level (0 to 4) per student and capability. Levels below the target level "
        f"{settings.target_level} are bold and underlined; {NOT_ASSESSED} = not assessed. "
        "Shading repeats the level number."
    )
    return (
        "<h2>Readiness by student and capability</h2>\n"
        '<div class="scroll" role="region" aria-labelledby="heat-caption" tabindex="0">'
        f'<table class="heat"><caption id="heat-caption">{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def level_counts(levels: pd.Series) -> tuple[list[int], int]:
    """How many students are at each level 0–4, and how many are not assessed."""
    counts = levels.dropna().astype(int).value_counts()
    return [int(counts.get(level, 0)) for level in ALL_LEVELS], int(levels.isna().sum())


def distribution_alt(title: str, counts: Sequence[int], not_assessed: int) -> str:
    """Alt text for a capability's distribution chart, listing every bar's value."""
    bars = "; ".join(
        f"level {level}: {count}" for level, count in zip(ALL_LEVELS, counts, strict=True)
    )
    return (
        f"Bar chart of the number of students at each assessed level, 0 to 4, in {title}. "
        f"{bars}. Not assessed: {not_assessed}."
    )


def distribution_figure(counts: Sequence[int], target_level: int) -> Figure:
    """Bars per level with their counts; bars below the target are hatched and pale."""
    figure = Figure(figsize=(6.4, 3.0))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    below = [level for level in ALL_LEVELS if level < target_level]
    above = [level for level in ALL_LEVELS if level >= target_level]
    for chosen, label, color, hatch in (
        (below, f"Below target level {target_level} (hatched)", "#eff3ff", "///"),
        (above, "At or above target (solid)", "#4292c6", None),
    ):
        bars = axes.bar(
            chosen,
            [counts[level] for level in chosen],
            color=color,
            hatch=hatch,
            edgecolor="black",
            label=label,
        )
        axes.bar_label(bars, padding=2)
    axes.set_xticks(list(ALL_LEVELS), ["0\nnot yet 1", "1", "2", "3", "4"])
    axes.set_xlabel("Assessed level")
    axes.set_ylabel("Students")
    axes.set_ylim(0, max(1, *counts) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=9, frameon=False)
    return figure


def _distribution_section(tables: Tables, settings: Settings) -> str:
    parts = ["<h2>Distribution of levels per capability</h2>"]
    unassessed = []
    for capability in tables.levels.columns:
        title = settings.title(capability)
        counts, not_assessed = level_counts(tables.levels[capability])
        if not any(counts):
            unassessed.append(title)
            continue
        figure = distribution_figure(counts, settings.target_level)
        caption = (
            f"{title}: students at each level (target level {settings.target_level}); "
            f"{not_assessed} not assessed."
        )
        parts.append(
            f"<h3>{_e(title)}</h3>\n"
            + figure_html(figure, distribution_alt(title, counts, not_assessed), caption)
        )
    if unassessed:
        parts.append(
            "<p>Not assessed yet by any graded module: " + _e("; ".join(unassessed)) + ".</p>"
        )
    return "\n".join(parts)


def _weakest_section(tables: Tables, settings: Settings) -> str:
    weakest = tables.weakest.assign(title=tables.weakest["capability"].map(settings.title))
    rows = frame_rows(
        weakest,
        {
            "title": _plain,
            "capability": _plain,
            "assessed": _plain,
            "mean_level": _fixed(2),
            "below_target": _plain,
            "share_below_target": _percent,
        },
    )
    table = html_table(
        rows,
        ["Capability", "Id", "Students assessed", "Mean level", "Below target", "Share below"],
        f"Capabilities from weakest (lowest mean level) to strongest; target level "
        f"{settings.target_level}",
        numeric=(2, 3, 4, 5),
    )
    return f"<h2>Weakest capabilities</h2>\n{table}"


def _with_titles(text: str, settings: Settings) -> str:
    """Capability ids in `text` replaced by their titles."""
    return _CAPABILITY_ID.sub(lambda match: settings.title(match[0]), text)


def _not_ready_section(tables: Tables, settings: Settings) -> str:
    heading = "<h2>Not yet ready: for tutor follow-up</h2>"
    if tables.not_ready.empty:
        return f"{heading}\n<p>No student is below target level {settings.target_level}.</p>"
    rows = [
        [
            _student_link(str(student), settings),
            _e(count),
            _e(lowest),
            _e(_with_titles(below, settings)),
            _e(_with_titles(missed, settings)),
            _e(_with_titles(missing, settings)),
        ]
        for student, count, lowest, below, missed, missing in tables.not_ready[
            ["student", "below_target", "lowest_level", "capabilities", "questions_missed",
             "not_assessed"]
        ].itertuples(index=False, name=None)
    ]
    table = html_table(
        rows,
        ["Student", "Capabilities below target", "Lowest level", "Which (level)",
         "Questions not fully right, by capability", "Not assessed"],
        f"Students below target level {settings.target_level} in at least one capability, "
        "most capabilities below target first",
        numeric=(1, 2),
    )
    region = '<div class="scroll" role="region" aria-label="Not yet ready" tabindex="0">'
    return f"{heading}\n{region}{table}</div>"


def _wrong_answers(row: pd.Series) -> str:
    return "; ".join(
        f"{row[f'wrong_answer_{rank}']} ({row[f'wrong_count_{rank}']})"
        for rank in (1, 2, 3)
        if f"wrong_answer_{rank}" in row and not _missing(row[f"wrong_answer_{rank}"])
    )


def item_note(facility: Any, discrimination: Any) -> str:
    """A word for the tutor on an item's statistics (empty when nothing stands out)."""
    notes = []
    if not _missing(facility) and facility > 0.9:
        notes.append("very easy")
    if not _missing(facility) and facility < 0.3:
        notes.append("very hard")
    if not _missing(discrimination) and discrimination < 0:
        notes.append("negative discrimination: check the mark scheme")
    elif not _missing(discrimination) and discrimination < 0.2:
        notes.append("weak discrimination")
    return "; ".join(notes)


def _reliability_table(tables: Tables, settings: Settings) -> str:
    rows = [
        [
            _e(settings.module_title(str(row["module"]))),
            _e(row["items"]),
            _e(row["students_complete"]),
            _e(_fixed(2)(row["alpha"])),
        ]
        for _, row in tables.reliability.iterrows()
    ]
    return html_table(
        rows,
        ["Module", "Items", "Students with every item marked", "Cronbach's alpha (KR-20)"],
        "Test reliability per module, as Moodle's quiz statistics give it: Cronbach's alpha "
        "(KR-20 for right/wrong items) over students with every item marked; 0.7 or more is "
        "usually taken as acceptable for a class test",
        numeric=(1, 2, 3),
    )


def _items_section(tables: Tables, settings: Settings) -> str:
    items = tables.items
    rows = [
        [
            _e(settings.question(str(row["grade_id"]))),
            _e(row["module"]),
            _e(_plain(row["capability"])),
            _e(_plain(row["level"])),
            _e(_fixed(1)(row["max"])),
            _e(row["n"]),
            _e(_fixed(2)(row["facility"])),
            _e(_fixed(2)(row["discrimination"])),
            _e(_wrong_answers(row)),
            _e(item_note(row["facility"], row["discrimination"])),
        ]
        for _, row in items.iterrows()
    ]
    table = html_table(
        rows,
        [
            "Item",
            "Module",
            "Capability",
            "Level",
            "Max",
            "Students marked",
            "Facility",
            "Discrimination",
            "Commonest wrong answers (count)",
            "Note",
        ],
        "Item analysis: facility = mean score ÷ maximum; discrimination = correlation of the "
        "item score with the rest of the module",
        numeric=(3, 4, 5, 6, 7),
    )
    return f"<h2>Item analysis</h2>\n{_reliability_table(tables, settings)}\n{table}"


def _confidence_section(tables: Tables, settings: Settings) -> str:
    heading = "<h2>Confidence and competence</h2>"
    compared = tables.confidence[tables.confidence["judgement"] != "not assessed"]
    if compared.empty:
        return f"{heading}\n<p>No submitted self-audit could be compared with assessed levels.</p>"
    judgements = ["over-confident", "matches", "under-confident"]
    rated = set(compared["capability"].unique())
    summary = pd.crosstab(compared["capability"], compared["judgement"]).reindex(
        index=[c for c in tables.levels.columns if c in rated],
        columns=judgements,
        fill_value=0,
    )
    summary.insert(0, "compared", summary.sum(axis="columns"))
    summary["mean"] = (
        compared.astype({"difference": float}).groupby("capability")["difference"].mean()
    )
    summary = summary.rename_axis(index="capability", columns=None).reset_index()
    summary.insert(0, "title", summary["capability"].map(settings.title))
    rows = frame_rows(
        summary,
        {
            "title": _plain,
            "compared": _plain,
            **dict.fromkeys(judgements, _plain),
            "mean": lambda value: f"{value:+.2f}",
        },
    )
    table = html_table(
        rows,
        ["Capability", "Students compared", "Rated higher", "Matching", "Rated lower", "Mean"],
        "Self-rating now against assessed level: students who rated themselves higher than, "
        "the same as, or lower than their assessed level, and the mean difference (self minus "
        "assessed)",
        numeric=(1, 2, 3, 4, 5),
    )
    return (
        f"{heading}\n{table}\n<p>Each student's ratings are in confidence_vs_competence.csv "
        "and on their own page.</p>"
    )


def _mapping_section(capabilities: Sequence[str], settings: Settings) -> str:
    known = {c.id: c for c in settings.curriculum.capabilities}
    rows = [
        [
            _e(capability.title),
            f"<code>{_e(capability.id)}</code>",
            _e(capability.section),
            _e("; ".join(capability.pcf_domains)),
            _e("; ".join(capability.swe_standards)),
            _e("; ".join(capability.hee_domains)),
            _e(capability.qaa_heading),
        ]
        for capability in (known[c] for c in capabilities if c in known)
    ]
    table = html_table(
        rows,
        [
            "Capability",
            "Id",
            "Statement section",
            "PCF domains",
            "Social Work England standards",
            "HEE framework domains",
            "QAA Subject Benchmark heading",
        ],
        "Each capability of the Digital Capabilities Statement and where it maps in the PCF, "
        "Social Work England's Professional Standards, the HEE Digital Capabilities Framework "
        "and the QAA Subject Benchmark Statement for Social Work",
    )
    return f"<h2>How the capabilities map to the frameworks</h2>\n{table}"


def report_html(scores: pd.DataFrame, tables: Tables, settings: Settings) -> str:
    """The whole cohort report as one self-contained HTML page."""
    title = f"Digital readiness report: {settings.curriculum.title}"
    sections = [
        f"<h1>{_e(title)}</h1>",
        "<p>Readiness against the Digital Capabilities Statement for Social Workers (BASW and "
        "SCIE, 2020), with levels from the HEE Digital Capabilities Framework.</p>",
        _headline_section(tables, settings),
        _summary_section(scores, tables, settings),
        _submissions_section(tables, settings),
        _heatmap_section(tables, settings),
        _distribution_section(tables, settings),
        _weakest_section(tables, settings),
        _not_ready_section(tables, settings),
        _items_section(tables, settings),
        _confidence_section(tables, settings),
        _mapping_section(list(tables.levels.columns), settings),
        _references_section(tables, settings),
    ]
    return _page(title, "\n".join(sections))


# ---------------------------------------------------------------- student pages


def _level_row(capability: str, level: Any, settings: Settings) -> list[str]:
    title = _e(settings.title(capability))
    if _missing(level):
        reached, can, start = "Not assessed yet", "No marked work for this capability yet.", 1
    else:
        value = int(level)
        reached = f"{value}: {settings.level_name(value)}"
        can = settings.statement(capability, value) or "Not yet at level 1."
        start = value + 1
    following = settings.statement(capability, start)
    step = f"Level {start}: {following}" if following else "You have reached the highest level."
    return [title, _e(reached), _e(can), _e(step)]


_JUDGEMENT_FOR_STUDENT = {
    "over-confident": "You rated yourself higher than your assessed level.",
    "under-confident": "You rated yourself lower than your assessed level.",
    "matches": "Your rating matches your assessed level.",
    "not assessed": "Not assessed yet.",
}


def student_page(
    student: str,
    levels: Mapping[str, Any],
    modules: Sequence[tuple[str, float, float, float, int]],
    confidence: Sequence[tuple[str, Any, Any, Any, str]],
    settings: Settings,
) -> str:
    """One student's summary page, holding only their own data.

    `modules` rows are (module, earned, available, percent, pending); `confidence` rows are
    (capability, self-rated, needed, assessed, judgement).
    """
    pending = sum(row[4] for row in modules)
    parts = [
        "<h1>Your digital readiness summary</h1>",
        f"<p>Student: <strong>{_e(student)}</strong></p>",
        f"<p>{_e(rule_text(settings))}</p>",
    ]
    if pending:
        waiting = "1 answer is" if pending == 1 else f"{pending} answers are"
        parts.append(
            f"<p><strong>Still to be marked:</strong> {waiting} waiting for your tutor's mark. "
            "Your levels may go up when they are marked.</p>"
        )
    level_rows = [_level_row(capability, level, settings) for capability, level in levels.items()]
    parts += [
        "<h2>Your level in each capability</h2>",
        html_table(
            level_rows,
            ["Capability", "Level reached", "What you can do", "Next step"],
            "Your assessed level in each capability, what it means and your next step",
        ),
        "<h2>Your module scores</h2>",
        html_table(
            [
                [
                    _e(settings.module_title(module)),
                    _e(f"{earned:g} of {available:g}"),
                    _e(_fixed(0)(percent)),
                    _e(count),
                ]
                for module, earned, available, percent, count in modules
            ],
            ["Module", "Points (marked so far)", "Percent", "Answers waiting for marking"],
            "Your points in each module",
            numeric=(2, 3),
        ),
    ]
    if confidence:
        parts += [
            "<h2>Your self-rating and your assessed level</h2>",
            html_table(
                [
                    [
                        _e(settings.title(capability)),
                        _e(_plain(now)),
                        _e(_plain(needed)),
                        _e(_plain(assessed) or NOT_ASSESSED),
                        _e(_JUDGEMENT_FOR_STUDENT[judgement]),
                    ]
                    for capability, now, needed, assessed, judgement in confidence
                ],
                ["Capability", "You rated now", "Needed for your role", "Assessed", "Comparison"],
                "Your self-audit ratings beside your assessed levels",
                numeric=(1, 2, 3),
            ),
        ]
    return _page(f"Digital readiness summary: {student}", "\n".join(parts))


def _rows_by_student(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for student, *rest in frame[["student", *columns]].itertuples(index=False, name=None):
        grouped[str(student)].append(tuple(rest))
    return grouped


def write_student_pages(tables: Tables, settings: Settings, folder: Path) -> None:
    """`folder/<page_name(student)>` for every student in the readiness table."""
    folder.mkdir(parents=True, exist_ok=True)
    modules = _rows_by_student(
        tables.modules, ["module", "earned", "available", "percent", "pending_manual"]
    )
    confidence = _rows_by_student(
        tables.confidence, ["capability", "self_rated", "needed", "assessed", "judgement"]
    )
    capabilities = list(tables.levels.columns)
    for student, row in zip(
        tables.levels.index, tables.levels.astype(object).to_numpy(), strict=True
    ):
        key = str(student)
        page = student_page(
            key,
            dict(zip(capabilities, row, strict=True)),
            modules.get(key, []),
            confidence.get(key, []),
            settings,
        )
        (folder / page_name(key)).write_text(page, encoding="utf-8")


# ---------------------------------------------------------------- entry point


STATUS_COLUMNS = ["student", "name", "module", "status"]
# `deadline` values the submissions table leaves out: no due date, on time, time unknown
UNREMARKABLE = ("", "on time", "no submission time")
NOTHING_MISSED = "every marked question right, but too little marked work at a level yet"


def _not_simply_submitted(status: pd.DataFrame) -> pd.DataFrame:
    """The status rows other than "submitted" on time: no submission, flagged, late or within
    an extension, with the `deadline` (if any) joined to the status ("submitted; late by 2
    days")."""
    deadline = status.get("deadline", pd.Series("", index=status.index, dtype=object))
    joined = [s if d in UNREMARKABLE or pd.isna(d) else f"{s}; {d}"
              for s, d in zip(status["status"], deadline, strict=True)]
    shown = status.assign(status=pd.Series(joined, index=status.index, dtype=object))
    return shown[shown["status"] != "submitted"].reset_index(drop=True)


def missed_questions(scores: pd.DataFrame, settings: Settings) -> dict[tuple[str, str], str]:
    """Per (student, capability): the marked questions not fully right, as headings."""
    marked = scores[scores["score"].notna() & scores["capability"].notna()]
    missed = marked[marked["score"] < marked["max_score"]]
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for student, capability, grade_id in missed[["student", "capability", "grade_id"]].itertuples(
        index=False, name=None
    ):
        found[(str(student), str(capability))].append(settings.question(str(grade_id)))
    return {key: "; ".join(value) for key, value in found.items()}


def _with_missed_questions(
    not_ready: pd.DataFrame, scores: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """The not-yet-ready table with, per student, each below-target capability's questions not
    fully right ("capability: Question 1.1 — …; …", capabilities separated by " | ")."""
    missed = missed_questions(scores, settings)
    below = re.compile(r"([\w.]+) \(\d+\)")
    column = [
        " | ".join(
            f"{capability}: {missed.get((str(student), capability), NOTHING_MISSED)}"
            for capability in below.findall(str(capabilities))
        )
        for student, capabilities in zip(
            not_ready.get("student", []), not_ready.get("capabilities", []), strict=True
        )
    ]
    table = not_ready.copy()
    table.insert(len(table.columns) - 1 if len(table.columns) else 0, "questions_missed",
                 pd.Series(column, index=table.index, dtype=object))
    return table


def write_report(
    scores: pd.DataFrame,
    curriculum: Curriculum,
    out_dir: Path,
    *,
    self_ratings: Mapping[str, Ratings] | None = None,
    answers: pd.DataFrame | None = None,
    threshold: float = 0.6,
    target_level: int = 2,
    pathway: str | None = None,
    student_pages: bool = True,
    statuses: pd.DataFrame | None = None,
    references: Collection[str] = (),
    questions: Mapping[str, str] | None = None,
    cohort: str = "",
    on: date | None = None,
) -> Path:
    """Write report.html, one CSV per table and (unless `student_pages` is False)
    students/<id>.html into `out_dir`; return the path of report.html.

    `scores` is the tidy table of `cohort_scores.load_scores`; `self_ratings` maps student ids
    to their self-audit {capability: (now, needed)}; `answers` comes from
    `answers.cohort_answers`. With `pathway`, only that pathway's modules and capabilities count.
    `statuses` (`roster.submission_status`) adds everyone on the class list, with names, and
    what each handed in; `references` are student ids of reference submissions (the demo's
    model solution and untouched release), shown apart and never counted; `questions` maps a
    grade id to its heading ("Question 4.1 — Rosa, 79, …"); `cohort` names the cohort in the
    headline, dated `on` (default today).
    """
    if pathway is not None:
        scores = filter_pathway(scores, curriculum, pathway)
    is_reference = scores["student"].isin(list(references))
    reference_scores = scores[is_reference]
    scores = scores[~is_reference]
    status = statuses if statuses is not None else pd.DataFrame(columns=STATUS_COLUMNS)
    status = status[~status["student"].isin(list(references))]
    if pathway is not None:
        status = status[status["module"].isin(scores["module"].unique())]
    capabilities = report_capabilities(curriculum, scores, pathway)
    tables = build_tables(
        scores,
        capabilities,
        self_ratings=self_ratings,
        answers=answers,
        threshold=threshold,
        target_level=target_level,
        everyone=status["student"].unique().tolist(),
    )
    settings = Settings(
        curriculum, threshold, target_level, pathway, student_pages,
        names={str(k): str(v) for k, v in zip(status["student"], status["name"], strict=True)
               if v},
        questions=dict(questions or {}),
        cohort=cohort,
        on=on or date.today(),
    )
    tables = Tables(
        **{**tables.__dict__,
           "not_ready": _with_missed_questions(tables.not_ready, scores, settings),
           "submissions": _not_simply_submitted(status),
           "references": module_scores(reference_scores)
           if not reference_scores.empty else pd.DataFrame()}
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csvs(tables, out_dir)
    if student_pages:
        write_student_pages(tables, settings, out_dir / STUDENTS_DIR)
    path = out_dir / REPORT_FILE
    path.write_text(report_html(scores, tables, settings), encoding="utf-8")
    return path
