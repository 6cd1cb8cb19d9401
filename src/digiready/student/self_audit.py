"""The self-audit (module 00): rate each capability now and as your role needs, then plan CPD.

Students rate themselves with `rating_form`, which writes the answer line they paste into the
answer cell `m00_self_audit`. Widgets are never graded: the answer is the literal in that cell,
and `read_self_audit` reads it back from a notebook file (with `ast`, running no student code)
so the cohort report can set self-ratings beside assessed levels.
"""

from __future__ import annotations

import ast
import csv
import html
import textwrap
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from digiready.course.csv_safety import safe_cell
from digiready.course.curriculum import Capability, Curriculum, course_curriculum
from digiready.student.answer_format import (
    AnswerFormatError,
    require_clean_run,
    require_written_out,
)
from digiready.student.answer_reading import assigned_value
from digiready.student.scenario_view import FOCUS_ROOM, FOCUS_STYLE, FORM_CLASS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GRADE_ID = "m00_self_audit"
VARIABLE = "self_audit"
CPD_FIELDS = ("capability", "action", "evidence", "by_when")
CPD_HEADINGS = ("Capability", "Action", "Evidence", "By when")
CPD_FILE = "my_cpd_plan"
NOT_RATED = 0
NOW = "Level now"
NEEDED = "Level needed for my role"

Ratings = dict[str, tuple[int, int]]


def capability_ids(curriculum: Curriculum) -> list[str]:
    """The capability ids in curriculum order."""
    return [capability.id for capability in curriculum.capabilities]


def level_label(level: int, curriculum: Curriculum) -> str:
    """A level as the form shows it, e.g. "2 – Able to use"."""
    return f"{level} – {curriculum.levels[level]}"


def _is_rating(value: Any) -> bool:
    """A pair (now, needed) of plain whole numbers from 1 to 4."""
    return (
        type(value) is tuple
        and len(value) == 2
        and all(type(level) is int and 1 <= level <= 4 for level in value)
    )


def audit_problems(answer: Any, known_ids: Collection[str]) -> list[str]:
    """What is malformed in a self-audit answer, in plain words (capabilities left out aside)."""
    if answer is ...:
        return ["not answered yet: replace the three dots (...) with your ratings"]
    if type(answer) is not dict:
        return [
            'it should be a dict in curly brackets, like {"purpose.professional_standards": '
            "(2, 3), ...}"
        ]
    problems = []
    for key, value in answer.items():
        if type(key) is not str or key not in known_ids:
            problems.append(f"{key!r} is not one of the capability ids")
        elif not _is_rating(value):
            problems.append(
                f"{key}: {value!r} should be two whole numbers from 1 to 4 in round "
                "brackets, like (2, 3)"
            )
    return problems


def missing_ratings(answer: dict[Any, Any], known_ids: Collection[str]) -> list[str]:
    """The capability ids the answer does not rate."""
    return [capability_id for capability_id in known_ids if capability_id not in answer]


def check_self_audit(answer: Any, curriculum: Curriculum) -> None:
    """Visible check of the self-audit's form.

    Only an unanswered or wrongly shaped answer raises; incomplete ratings are listed instead,
    because they still earn their share of the marks.
    """
    __tracebackhide__ = True
    require_clean_run(VARIABLE)
    known = capability_ids(curriculum)
    problems = audit_problems(answer, known)
    if answer is ... or type(answer) is not dict:
        raise AnswerFormatError(f"Self-audit: {problems[0]}.")
    require_written_out("Self-audit", "self_audit")
    problems += [f"not rated yet: {key}" for key in missing_ratings(answer, known)]
    if problems:
        print("Self-audit: not complete yet. Only complete ratings earn marks. To fix:")
        print("\n".join(f"- {problem}" for problem in problems))
    else:
        print(
            f"Self-audit: all {len(known)} capabilities rated, in the right form. "
            "It is marked after you submit."
        )


def _assigned_literal(source: str, path: Path) -> Any:
    """The value assigned to `self_audit` in a cell's source, read without running it."""
    where = f"{path}: answer cell {GRADE_ID}"
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ValueError(f"{where}: not valid Python ({error.msg}, line {error.lineno})") from error
    value = assigned_value(tree, VARIABLE)
    if value is None:
        raise ValueError(f"{where}: no line `{VARIABLE} = ...`")
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, RecursionError) as error:
        raise ValueError(f"{where}: {VARIABLE} is not written as plain values ({error})") from error


def read_self_audit(notebook_path: Path | str, known_ids: Collection[str] | None = None) -> Ratings:
    """The self-audit in a (submitted or autograded) notebook, validated.

    `known_ids` defaults to the capabilities of `course_curriculum()`. Capabilities the student
    left out are simply absent; anything malformed raises ValueError naming the file.
    """
    from digiready.course.items import nbgrader_meta, read_notebook  # nbformat is slow to import

    path = Path(notebook_path)
    known = capability_ids(course_curriculum()) if known_ids is None else known_ids
    notebook = read_notebook(path)
    sources = [
        cell.source for cell in notebook.cells if nbgrader_meta(cell).get("grade_id") == GRADE_ID
    ]
    if not sources:
        raise ValueError(f"{path}: no answer cell {GRADE_ID} (the self-audit)")
    answer = _assigned_literal(sources[0], path)
    problems = audit_problems(answer, known)
    if problems:
        raise ValueError(f"{path}: answer cell {GRADE_ID}: " + "; ".join(problems))
    return dict(answer)


def _valid(self_audit: Any, curriculum: Curriculum) -> Ratings:
    problems = audit_problems(self_audit, capability_ids(curriculum))
    if problems:
        raise ValueError("self-audit: " + "; ".join(problems))
    return dict(self_audit)


def profile_table(self_audit: Ratings, curriculum: Curriculum) -> pd.DataFrame:
    """One row per rated capability, in curriculum order; gap = needed - now."""
    ratings = _valid(self_audit, curriculum)
    rows = [
        {
            "capability": capability.id,
            "section": capability.section,
            "title": capability.title,
            "now": ratings[capability.id][0],
            "needed": ratings[capability.id][1],
            "gap": ratings[capability.id][1] - ratings[capability.id][0],
        }
        for capability in curriculum.capabilities
        if capability.id in ratings
    ]
    return pd.DataFrame(rows, columns=["capability", "section", "title", "now", "needed", "gap"])


def biggest_gaps(self_audit: Ratings, n: int = 3) -> list[tuple[str, int]]:
    """Up to `n` (capability id, gap) pairs where needed is above now, largest gap first.

    Equal gaps keep the order of the audit.
    """
    malformed = [key for key, value in self_audit.items() if not _is_rating(value)]
    if malformed:
        raise ValueError(f"self-audit: these ratings are not (now, needed) pairs: {malformed}")
    gaps = [(key, needed - now) for key, (now, needed) in self_audit.items() if needed > now]
    return sorted(gaps, key=lambda gap: -gap[1])[:n]


def profile_chart(self_audit: Ratings, curriculum: Curriculum) -> Figure:
    """Bars per capability: "now" solid, "needed" hatched outline, each labelled with its level."""
    from matplotlib.figure import Figure  # here: grading imports this module, never draws

    table = profile_table(self_audit, curriculum)
    figure = Figure(figsize=(9, 1.8 + 0.6 * len(table)))
    axes = figure.subplots()
    rows = list(range(len(table)))
    height = 0.38
    now = axes.barh(
        [row - height / 2 for row in rows],
        table["now"],
        height,
        color="#35608f",
        edgecolor="black",
        label="Now (solid bar)",
    )
    needed = axes.barh(
        [row + height / 2 for row in rows],
        table["needed"],
        height,
        fill=False,
        hatch="///",
        edgecolor="black",
        label="Needed for my role (hatched bar)",
    )
    axes.bar_label(now, padding=3)
    axes.bar_label(needed, padding=3)
    labels = [
        textwrap.fill(f"{section}: {title}", 42)
        for section, title in zip(table["section"], table["title"], strict=True)
    ]
    axes.set_yticks(rows, labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 4.5)
    axes.set_xticks([0, 1, 2, 3, 4])
    axes.set_xlabel("Level (1 = knowing and understanding … 4 = confident and expert)")
    axes.set_title("My digital capability profile: now and needed for my role", pad=30)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return figure


def profile_alt_text(table: pd.DataFrame) -> str:
    """Alt text for `profile_chart`, listing every bar's value."""
    bars = "; ".join(
        f"{title}: now {now}, needed {needed}"
        for title, now, needed in zip(table["title"], table["now"], table["needed"], strict=True)
    )
    return (
        f"Horizontal bar chart of a self-audit of {len(table)} capabilities on levels 1 to 4, "
        f"with the level now and the level needed for the role. {bars}."
    )


def _display_html(markup: str) -> None:
    from IPython import display as ipython

    show: Callable[[object], None] = ipython.display
    as_html: Callable[[str], object] = ipython.HTML
    show(as_html(markup))


def show_profile(self_audit: Any, curriculum: Curriculum, n: int = 3) -> None:
    """Display the profile table, chart and biggest gaps, or say what to do first."""
    from digiready.student.charts import show_figure

    problems = audit_problems(self_audit, capability_ids(curriculum))
    if problems:
        print("Your profile appears here once your self-audit is in the answer cell above. First:")
        print("\n".join(f"- {problem}" for problem in problems))
        return
    table = profile_table(self_audit, curriculum)
    if table.empty:
        print("You have not rated any capability yet.")
        return
    _display_html(table.drop(columns="capability").to_html(index=False))
    show_figure(
        profile_chart(self_audit, curriculum),
        alt=profile_alt_text(table),
        caption="Your self-audit: the level you are at now and the level your role needs.",
    )
    gaps = biggest_gaps(self_audit, n)
    if not gaps:
        print(
            "No capability is below the level you say your role needs. Look instead at where "
            "you would like to grow, or ask your supervisor whether your 'needed' levels fit."
        )
        return
    print("Your biggest gaps (needed minus now):")
    for capability_id, gap in gaps:
        now, needed = self_audit[capability_id]
        title = curriculum.capability(capability_id).title
        print(f"- {title} ({capability_id}): now {now}, needed {needed}, a gap of {gap}")


def answer_source(ratings: Ratings) -> str:
    """The answer cell's text for these ratings, one capability per line."""
    lines = [f'    "{key}": ({now}, {needed}),' for key, (now, needed) in ratings.items()]
    return "\n".join([f"{VARIABLE} = {{", *lines, "}"])


def _capability_html(capability: Capability, curriculum: Curriculum) -> str:
    statements = "".join(
        f"<li><strong>{html.escape(level_label(level, curriculum))}:</strong> "
        f"{html.escape(statement)}</li>"
        for level, statement in zip(
            sorted(curriculum.levels), capability.can_statements, strict=True
        )
    )
    return (
        f"<h4>{html.escape(capability.title)}</h4>"
        f"<p><code>{html.escape(capability.id)}</code></p><ul>{statements}</ul>"
    )


# Text that screen readers read but the page does not show.
VISUALLY_HIDDEN = "digiready-visually-hidden"
_FORM_STYLE = FOCUS_STYLE + f"""<style>
.{VISUALLY_HIDDEN} {{
  position: absolute !important; width: 1px !important; height: 1px !important;
  overflow: hidden !important; clip-path: inset(50%) !important; white-space: nowrap !important;
}}
</style>"""


def dropdown_name(label: str, capability: Capability) -> str:
    """What assistive technology calls a rating dropdown, e.g. "Meeting professional
    standards: Level now": the capability (hidden on screen, under its heading) and the label."""
    return f"{capability.title}: {label}"


def _dropdown(label: str, capability: Capability, options: list[tuple[str, int]]) -> Any:
    hidden = f'<span class="{VISUALLY_HIDDEN}">{html.escape(capability.title)}: </span>'
    return widgets.Dropdown(
        options=options,
        value=NOT_RATED,
        description=f"{hidden}{html.escape(label)}",
        description_allow_html=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="auto", min_width="24em"),
    )


class RatingForm:
    """Two dropdowns per capability ("Level now", "Level needed for my role", each named with the
    capability for screen readers) and a "Create my answer" button.

    Tests set `now[id].value` and `needed[id].value`, call `button.click()`, then read
    `answer_text` (also shown, escaped, in the `answer` HTML widget).
    """

    def __init__(self, curriculum: Curriculum) -> None:
        self.curriculum = curriculum
        options = [("Choose a level", NOT_RATED)] + [
            (level_label(level, curriculum), level) for level in sorted(curriculum.levels)
        ]
        self.now: dict[str, widgets.Dropdown] = {}
        self.needed: dict[str, widgets.Dropdown] = {}
        children: list[widgets.Widget] = [widgets.HTML(_FORM_STYLE)]
        for section in dict.fromkeys(c.section for c in curriculum.capabilities):
            children.append(widgets.HTML(f"<h3>{html.escape(section)}</h3>"))
            for capability in (c for c in curriculum.capabilities if c.section == section):
                self.now[capability.id] = _dropdown(NOW, capability, options)
                self.needed[capability.id] = _dropdown(NEEDED, capability, options)
                children += [
                    widgets.HTML(_capability_html(capability, curriculum)),
                    widgets.HBox([self.now[capability.id], self.needed[capability.id]]),
                ]
        self.button = widgets.Button(
            description="Create my answer",
            tooltip="Write the answer line to copy into the answer cell",
        )
        self.button.on_click(self._on_create)
        self.answer = widgets.HTML()
        self.answer_text = ""
        self.widget = widgets.VBox(
            [*children, self.button, self.answer],
            layout=widgets.Layout(max_width="56em", padding=FOCUS_ROOM),
        )
        self.widget.add_class(FORM_CLASS)

    def ratings(self) -> Ratings:
        """The capabilities rated on both dropdowns, in curriculum order."""
        return {
            key: (self.now[key].value, self.needed[key].value)
            for key in self.now
            if NOT_RATED not in (self.now[key].value, self.needed[key].value)
        }

    def _on_create(self, _button: Any = None) -> None:
        ratings = self.ratings()
        self.answer_text = answer_source(ratings)
        missing = [self.curriculum.capability(key).title for key in self.now if key not in ratings]
        note = (
            "<p><strong>Not rated yet</strong> (choose both levels, then press the button again): "
            f"{html.escape('; '.join(missing))}.</p>"
            if missing
            else ""
        )
        self.answer.value = (
            '<div role="status" aria-live="polite">'
            "<p>Copy all of these lines into the answer cell below:</p>"
            '<pre tabindex="0" aria-label="Your answer to copy" style="font-family: monospace; '
            "user-select: text; white-space: pre; border: 1px solid #767676; padding: 0.5em; "
            f'background: #f5f5f5; color: #000;">{html.escape(self.answer_text)}</pre>'
            f"{note}</div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def rating_form(curriculum: Curriculum) -> RatingForm:
    """The self-audit form for every capability in `curriculum`, grouped by section."""
    return RatingForm(curriculum)


def _filled(value: Any) -> bool:
    """A plain string with some words in it."""
    return type(value) is str and bool(value.strip())


def cpd_problems(plan: Any, known_ids: Collection[str]) -> list[str]:
    """What stops `plan` being a complete three-entry CPD plan, in plain words."""
    if plan is ...:
        return ["not answered yet: replace the three dots (...) with your plan"]
    if type(plan) is not list:
        return ["it should be a list in square brackets holding three entries in curly brackets"]
    count = f"{len(plan)} {'entry' if len(plan) == 1 else 'entries'}"
    problems = [] if len(plan) == 3 else [f"the plan has {count}; write three"]
    for number, entry in enumerate(plan, start=1):
        if type(entry) is not dict:
            problems.append(
                f"entry {number} should be in curly brackets with the keys "
                + ", ".join(f'"{field}"' for field in CPD_FIELDS)
            )
            continue
        if type(entry.get("capability")) is not str or entry["capability"] not in known_ids:
            problems.append(
                f'entry {number}: "capability" should be one of the capability ids, '
                'in quotes, such as "impact.digital_professionalism"'
            )
        for field in ("action", "evidence"):
            if not _filled(entry.get(field)):
                problems.append(f'entry {number}: write the "{field}" as words in quotes')
    return problems


def check_cpd_plan(plan: Any, curriculum: Curriculum) -> None:
    """Visible check of the CPD plan's form; as in `check_self_audit`, gaps are only listed."""
    __tracebackhide__ = True
    require_clean_run("cpd_plan")
    problems = cpd_problems(plan, capability_ids(curriculum))
    if plan is ... or type(plan) is not list:
        raise AnswerFormatError(f"CPD plan: {problems[0]}.")
    require_written_out("CPD plan", "cpd_plan")
    if problems:
        print("CPD plan: not complete yet. Only complete entries earn marks. To fix:")
        print("\n".join(f"- {problem}" for problem in problems))
    else:
        print("CPD plan: three entries in the right form. It is marked after you submit.")
    undated = [
        str(number)
        for number, entry in enumerate(plan, start=1)
        if type(entry) is dict and not _filled(entry.get("by_when"))
    ]
    if undated:
        print(
            f'Tip: add a "by_when" date to {"entry" if len(undated) == 1 else "entries"} '
            f"{', '.join(undated)}. It is not marked, but a date helps a plan happen."
        )


def _cell_text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def cpd_markdown(rows: list[dict[str, str]]) -> str:
    """The plan as a markdown document with one table row per entry."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    table = [line(list(CPD_HEADINGS)), line(["---"] * len(CPD_HEADINGS))]
    table += [line([row[field] for field in CPD_FIELDS]) for row in rows]
    return "\n".join(
        [
            "# My digital capability CPD plan",
            "",
            "Made in the digiready self-audit. The capabilities are those of the Digital "
            "Capabilities Statement for Social Workers (BASW and SCIE, 2020).",
            "",
            *table,
            "",
        ]
    )


def save_cpd_plan(
    cpd_plan: Any, folder: Path | str = ".", curriculum: Curriculum | None = None
) -> None:
    """Write the plan to `my_cpd_plan.csv` and `my_cpd_plan.md` in `folder` and say where.

    Each capability is written as its title ("Law, regulation and data protection"), not its id;
    the CSV keeps the id too, in a last column. `curriculum` defaults to the course's."""
    if cpd_plan is ...:
        print("Write your plan in the answer cell above and run it, then run this cell again.")
        return
    if type(cpd_plan) is not list or any(type(entry) is not dict for entry in cpd_plan):
        raise ValueError(
            "cpd_plan should be a list of entries in curly brackets, like "
            '[{"capability": "...", "action": "...", ...}, ...]'
        )
    titles = {c.id: c.title for c in (curriculum or course_curriculum()).capabilities}
    rows = [{field: _cell_text(entry.get(field, "")) for field in CPD_FIELDS} for entry in cpd_plan]
    for row in rows:
        row["capability_id"] = row["capability"]
        row["capability"] = titles.get(row["capability"], row["capability"])
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, markdown_path = out / f"{CPD_FILE}.csv", out / f"{CPD_FILE}.md"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*CPD_FIELDS, "capability_id"])
        writer.writeheader()
        writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
    markdown_path.write_text(cpd_markdown(rows), encoding="utf-8")
    print(
        f"Saved your CPD plan as {csv_path.name} (for a spreadsheet) and {markdown_path.name} "
        f"(easy to read) in the folder {out.resolve().name}, next to this notebook."
    )
