"""The cohort readiness report: one self-contained HTML page, a CSV per table, and a one-page
summary for each student.

Python works out every table, number and sentence; Jinja2 templates in `templates/` (or a
lecturer's own, found first) lay them out, escaping everything. Charts are PNG data URIs with
alt text written from the data; levels are always shown as numbers, so colour only repeats what
the text says.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
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

STUDENTS_DIR = "students"
REPORT_FILE = "report.html"
ALL_LEVELS = (0, 1, 2, 3, 4)
NOT_ASSESSED = "n/a"
HEADLINE_CSVS = ("readiness", "not_yet_ready", "submissions", "module_scores", "item_analysis",
                 "module_reliability")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}
_SAFE_CHARACTER = re.compile(r"[A-Za-z0-9_-]")
_CAPABILITY_ID = re.compile(r"\b(?:purpose|practice|impact)\.[a-z_]+")

Cell = str | float | int
Formatter = Callable[[Any], str]


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
    templates: Path | None = None  # a folder of templates used before the package's own

    def question(self, grade_id: str) -> str:
        """"Question 4.1 — Rosa, 79, …" for a grade id, or its label without a title."""
        return self.questions.get(grade_id) or question_label(grade_id)

    def who(self, student: str) -> str:
        """"0012345 Jane Smith", or the id alone when the class list gave no name."""
        name = self.names.get(student, "")
        return f"{student} {name}" if name else student

    @cached_property
    def environment(self) -> jinja2.Environment:
        """The templates these pages are made with, loaded once per report."""
        return template_environment(self.templates)

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


# ---------------------------------------------------------------- what the templates lay out


@dataclass(frozen=True)
class Link:
    """Text that links to `href`, a page in the report folder."""

    text: str
    href: str


@dataclass(frozen=True)
class Code:
    """Text shown as code (an id)."""

    text: str


Value = str | Link | Code


@dataclass(frozen=True)
class Table:
    """A table's caption, column headers and rows of cells; the first cell of each row is its
    row header, and the columns numbered in `numeric` (0 is the row header) hold numbers."""

    caption: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Value]]
    numeric: Collection[int] = ()


@dataclass(frozen=True)
class Level:
    """A cell of the readiness table: the level (None when not assessed), and whether it is
    below the target level."""

    level: int | None
    below: bool = False


@dataclass(frozen=True)
class Heatmap:
    """The readiness table: a row per student, a column per capability assessed."""

    caption: str
    headers: Sequence[str]
    rows: Sequence[tuple[Value, Sequence[Level]]]


@dataclass(frozen=True)
class Chart:
    """A chart as a PNG data URI, with its alt text and visible caption."""

    title: str
    src: str
    alt: str
    caption: str


class ReportTemplateError(Exception):
    """A report template (usually a lecturer's own) could not be rendered."""


def template_environment(templates: Path | None = None) -> jinja2.Environment:
    """The report's templates: those in the folder `templates` first, then the package's own.
    Everything a template prints is HTML-escaped, and a name it does not know is an error."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("digiready.reporting")]
    if templates is not None:
        loaders.insert(0, jinja2.FileSystemLoader(templates))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests.update(link=lambda value: isinstance(value, Link),
                     code=lambda value: isinstance(value, Code))
    env.globals.update(not_assessed=NOT_ASSESSED)
    return env


def render(template: str, settings: Settings, **context: Any) -> str:
    """`template` rendered with `context`; a template's mistake is a `ReportTemplateError`
    naming the template (and line, for a syntax error)."""
    try:
        return settings.environment.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise ReportTemplateError(f"{error.name}, line {error.lineno}: {error.message}") from error
    except jinja2.TemplateError as error:
        raise ReportTemplateError(f"{template}: {error.message}") from error


def frame_rows(frame: pd.DataFrame, formats: Mapping[str, Formatter]) -> list[list[Value]]:
    """The chosen columns of `frame` as text, each through its formatter."""
    columns = [frame[column].map(formatter) for column, formatter in formats.items()]
    return [list(row) for row in zip(*columns, strict=True)]


def png_src(figure: Figure) -> str:
    """The figure as a PNG data URI (as the notebooks' charts are saved)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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


def _summary_tables(
    scores: pd.DataFrame, tables: Tables, settings: Settings
) -> tuple[Table, Table]:
    """The cohort's facts, and each module's results."""
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
    return (
        Table("Cohort summary", ["Measure", "Value"], facts),
        Table(
            "Module results: percent of the marked points, per module",
            ["Module", "Students", "Mean percent", "Median percent", "Marks waiting"],
            module_rows,
            numeric=(1, 2, 3, 4),
        ),
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


def _headline(tables: Tables, settings: Settings) -> str:
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
    return text


def _student_link(student: str, settings: Settings) -> Value:
    """The student's id and name, linked to their page when there are student pages."""
    if not settings.student_pages:
        return settings.who(student)
    return Link(settings.who(student), f"{STUDENTS_DIR}/{quote(page_name(student), safe='')}")


def _submissions_table(tables: Tables, settings: Settings) -> Table | None:
    if tables.submissions.empty:
        return None
    rows = [
        [_student_link(str(student), settings), settings.module_title(str(module)), str(status)]
        for student, module, status in tables.submissions[["student", "module", "status"]]
        .itertuples(index=False, name=None)
    ]
    return Table(
        "Students on the class list with no submission, or a submission that could not be "
        "graded as handed in (flagged for review)",
        ["Student", "Module", "What there is"],
        rows,
    )


def _references_table(tables: Tables, settings: Settings) -> Table | None:
    if tables.references.empty:
        return None
    rows = frame_rows(
        tables.references.assign(title=tables.references["module"].map(settings.module_title)),
        {"student": _plain, "title": _plain, "percent": _fixed(1)},
    )
    return Table(
        "Reference submissions (not students, never counted in the cohort figures)",
        ["Reference", "Module", "Percent"],
        rows,
        numeric=(2,),
    )


def _level(level: Any, target_level: int) -> Level:
    if _missing(level):
        return Level(None)
    return Level(int(level), int(level) < target_level)


def _heatmap(tables: Tables, settings: Settings) -> Heatmap:
    levels = tables.levels.loc[:, tables.levels.notna().any().to_numpy()]  # no all-n/a column
    rows = [
        (_student_link(str(student), settings),
         [_level(level, settings.target_level) for level in row])
        for student, row in zip(levels.index, levels.astype(object).to_numpy(), strict=True)
    ]
    return Heatmap(
        f"Assessed level (0 to 4) per student and capability. Levels below the target level "
        f"{settings.target_level} are bold and underlined; {NOT_ASSESSED} = not assessed. "
        "Shading repeats the level number.",
        ["Student", *(settings.title(capability) for capability in levels.columns)],
        rows,
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


def _charts(tables: Tables, settings: Settings) -> tuple[list[Chart], list[str]]:
    """A chart per capability someone is assessed in, and the titles of the others."""
    charts, unassessed = [], []
    for capability in tables.levels.columns:
        title = settings.title(capability)
        counts, not_assessed = level_counts(tables.levels[capability])
        if not any(counts):
            unassessed.append(title)
            continue
        charts.append(
            Chart(
                title,
                png_src(distribution_figure(counts, settings.target_level)),
                distribution_alt(title, counts, not_assessed),
                f"{title}: students at each level (target level {settings.target_level}); "
                f"{not_assessed} not assessed.",
            )
        )
    return charts, unassessed


def _weakest_table(tables: Tables, settings: Settings) -> Table:
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
    return Table(
        f"Capabilities from weakest (lowest mean level) to strongest; target level "
        f"{settings.target_level}",
        ["Capability", "Id", "Students assessed", "Mean level", "Below target", "Share below"],
        rows,
        numeric=(2, 3, 4, 5),
    )


def _with_titles(text: str, settings: Settings) -> str:
    """Capability ids in `text` replaced by their titles."""
    return _CAPABILITY_ID.sub(lambda match: settings.title(match[0]), text)


def _not_ready_table(tables: Tables, settings: Settings) -> Table | None:
    if tables.not_ready.empty:
        return None
    rows = [
        [
            _student_link(str(student), settings),
            str(count),
            str(lowest),
            _with_titles(below, settings),
            _with_titles(missed, settings),
            _with_titles(missing, settings),
        ]
        for student, count, lowest, below, missed, missing in tables.not_ready[
            ["student", "below_target", "lowest_level", "capabilities", "questions_missed",
             "not_assessed"]
        ].itertuples(index=False, name=None)
    ]
    return Table(
        f"Students below target level {settings.target_level} in at least one capability, "
        "most capabilities below target first",
        ["Student", "Capabilities below target", "Lowest level", "Which (level)",
         "Questions not fully right, by capability", "Not assessed"],
        rows,
        numeric=(1, 2),
    )


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


def _reliability_table(tables: Tables, settings: Settings) -> Table:
    rows = [
        [
            settings.module_title(str(row["module"])),
            str(row["items"]),
            str(row["students_complete"]),
            _fixed(2)(row["alpha"]),
        ]
        for _, row in tables.reliability.iterrows()
    ]
    return Table(
        "Test reliability per module, as Moodle's quiz statistics give it: Cronbach's alpha "
        "(KR-20 for right/wrong items) over students with every item marked; 0.7 or more is "
        "usually taken as acceptable for a class test",
        ["Module", "Items", "Students with every item marked", "Cronbach's alpha (KR-20)"],
        rows,
        numeric=(1, 2, 3),
    )


def _items_table(tables: Tables, settings: Settings) -> Table:
    rows = [
        [
            settings.question(str(row["grade_id"])),
            str(row["module"]),
            _plain(row["capability"]),
            _plain(row["level"]),
            _fixed(1)(row["max"]),
            str(row["n"]),
            _fixed(2)(row["facility"]),
            _fixed(2)(row["discrimination"]),
            _wrong_answers(row),
            item_note(row["facility"], row["discrimination"]),
        ]
        for _, row in tables.items.iterrows()
    ]
    return Table(
        "Item analysis: facility = mean score ÷ maximum; discrimination = correlation of the "
        "item score with the rest of the module",
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
        rows,
        numeric=(3, 4, 5, 6, 7),
    )


def _confidence_table(tables: Tables, settings: Settings) -> Table | None:
    compared = tables.confidence[tables.confidence["judgement"] != "not assessed"]
    if compared.empty:
        return None
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
    return Table(
        "Self-rating now against assessed level: students who rated themselves higher than, "
        "the same as, or lower than their assessed level, and the mean difference (self minus "
        "assessed)",
        ["Capability", "Students compared", "Rated higher", "Matching", "Rated lower", "Mean"],
        rows,
        numeric=(1, 2, 3, 4, 5),
    )


def _mapping_table(capabilities: Sequence[str], settings: Settings) -> Table:
    known = {c.id: c for c in settings.curriculum.capabilities}
    rows: list[list[Value]] = [
        [
            capability.title,
            Code(capability.id),
            capability.section,
            "; ".join(capability.pcf_domains),
            "; ".join(capability.swe_standards),
            "; ".join(capability.hee_domains),
            capability.qaa_heading,
        ]
        for capability in (known[c] for c in capabilities if c in known)
    ]
    return Table(
        "Each capability of the Digital Capabilities Statement and where it maps in the PCF, "
        "Social Work England's Professional Standards, the HEE Digital Capabilities Framework "
        "and the QAA Subject Benchmark Statement for Social Work",
        [
            "Capability",
            "Id",
            "Statement section",
            "PCF domains",
            "Social Work England standards",
            "HEE framework domains",
            "QAA Subject Benchmark heading",
        ],
        rows,
    )


def report_html(scores: pd.DataFrame, tables: Tables, settings: Settings) -> str:
    """The whole cohort report as one self-contained HTML page (template `report.html`)."""
    summary, modules = _summary_tables(scores, tables, settings)
    charts, unassessed = _charts(tables, settings)
    return render(
        "report.html",
        settings,
        title=f"Digital readiness report: {settings.curriculum.title}",
        headline=_headline(tables, settings),
        csvs=[f"{name}.csv" for name in HEADLINE_CSVS],
        summary=summary,
        rule=rule_text(settings),
        level_names=[(level, settings.level_name(level)) for level in ALL_LEVELS],
        modules=modules,
        submissions=_submissions_table(tables, settings),
        heatmap=_heatmap(tables, settings),
        charts=charts,
        unassessed=unassessed,
        weakest=_weakest_table(tables, settings),
        target_level=settings.target_level,
        not_ready=_not_ready_table(tables, settings),
        reliability=_reliability_table(tables, settings),
        items=_items_table(tables, settings),
        confidence=_confidence_table(tables, settings),
        mapping=_mapping_table(list(tables.levels.columns), settings),
        references=_references_table(tables, settings),
    )


# ---------------------------------------------------------------- student pages


def _level_row(capability: str, level: Any, settings: Settings) -> list[Value]:
    if _missing(level):
        reached, can, start = "Not assessed yet", "No marked work for this capability yet.", 1
    else:
        value = int(level)
        reached = f"{value}: {settings.level_name(value)}"
        can = settings.statement(capability, value) or "Not yet at level 1."
        start = value + 1
    following = settings.statement(capability, start)
    step = f"Level {start}: {following}" if following else "You have reached the highest level."
    return [settings.title(capability), reached, can, step]


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
    """One student's summary page (template `student.html`), holding only their own data.

    `modules` rows are (module, earned, available, percent, pending); `confidence` rows are
    (capability, self-rated, needed, assessed, judgement).
    """
    pending = sum(row[4] for row in modules)
    return render(
        "student.html",
        settings,
        title=f"Digital readiness summary: {student}",
        student=student,
        rule=rule_text(settings),
        waiting=("1 answer is" if pending == 1 else f"{pending} answers are") if pending else "",
        levels=Table(
            "Your assessed level in each capability, what it means and your next step",
            ["Capability", "Level reached", "What you can do", "Next step"],
            [_level_row(capability, level, settings) for capability, level in levels.items()],
        ),
        modules=Table(
            "Your points in each module",
            ["Module", "Points (marked so far)", "Percent", "Answers waiting for marking"],
            [
                [settings.module_title(module), f"{earned:g} of {available:g}",
                 _fixed(0)(percent), str(count)]
                for module, earned, available, percent, count in modules
            ],
            numeric=(2, 3),
        ),
        confidence=Table(
            "Your self-audit ratings beside your assessed levels",
            ["Capability", "You rated now", "Needed for your role", "Assessed", "Comparison"],
            [
                [settings.title(capability), _plain(now), _plain(needed),
                 _plain(assessed) or NOT_ASSESSED, _JUDGEMENT_FOR_STUDENT[judgement]]
                for capability, now, needed, assessed, judgement in confidence
            ],
            numeric=(1, 2, 3),
        ) if confidence else None,
    )


def _rows_by_student(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for student, *rest in frame[["student", *columns]].itertuples(index=False, name=None):
        grouped[str(student)].append(tuple(rest))
    return grouped


def render_student_pages(tables: Tables, settings: Settings) -> dict[str, str]:
    """{page_name(student): page} for every student in the readiness table."""
    modules = _rows_by_student(
        tables.modules, ["module", "earned", "available", "percent", "pending_manual"]
    )
    confidence = _rows_by_student(
        tables.confidence, ["capability", "self_rated", "needed", "assessed", "judgement"]
    )
    capabilities = list(tables.levels.columns)
    return {
        page_name(str(student)): student_page(
            str(student),
            dict(zip(capabilities, row, strict=True)),
            modules.get(str(student), []),
            confidence.get(str(student), []),
            settings,
        )
        for student, row in zip(
            tables.levels.index, tables.levels.astype(object).to_numpy(), strict=True
        )
    }


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
    templates: Path | None = None,
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
    headline, dated `on` (default today). Templates in the folder `templates` are used before
    the package's own of the same name. Every page is rendered before anything is written, so a
    template's mistake (`ReportTemplateError`) leaves an earlier report as it was.
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
        templates=templates,
    )
    tables = Tables(
        **{**tables.__dict__,
           "not_ready": _with_missed_questions(tables.not_ready, scores, settings),
           "submissions": _not_simply_submitted(status),
           "references": module_scores(reference_scores)
           if not reference_scores.empty else pd.DataFrame()}
    )
    pages = render_student_pages(tables, settings) if student_pages else {}
    report = report_html(scores, tables, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csvs(tables, out_dir)
    if student_pages:
        (out_dir / STUDENTS_DIR).mkdir(exist_ok=True)
    for name, page in pages.items():
        (out_dir / STUDENTS_DIR / name).write_text(page, encoding="utf-8")
    path = out_dir / REPORT_FILE
    path.write_text(report, encoding="utf-8")
    return path
