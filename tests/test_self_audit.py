"""The self-audit helpers: reading answers back from notebooks, the profile, the CPD plan files
and the rating form driven as a student would drive it."""

from __future__ import annotations

import ast
import csv
import html
import re
from pathlib import Path

import nbformat
import pytest
from matplotlib.patches import Rectangle

from digiready.authoring import cells as a
from digiready.course.curriculum import Curriculum, course_curriculum, load_curriculum
from digiready.student.answer_format import AnswerFormatError
from digiready.student.self_audit import (
    answer_source,
    biggest_gaps,
    capability_ids,
    check_cpd_plan,
    check_self_audit,
    cpd_problems,
    profile_alt_text,
    profile_chart,
    profile_table,
    rating_form,
    read_self_audit,
    save_cpd_plan,
    show_profile,
)

CURRICULUM_FILE = Path(__file__).resolve().parents[1] / "course" / "curriculum.yml"


@pytest.fixture(scope="module")
def curriculum() -> Curriculum:
    return load_curriculum(CURRICULUM_FILE)


@pytest.fixture(scope="module")
def ids() -> list[str]:
    return capability_ids(load_curriculum(CURRICULUM_FILE))


@pytest.fixture
def full_audit(ids: list[str]) -> dict[str, tuple[int, int]]:
    """Now 1-4 in turn; needed one level up, capped at 4."""
    return {key: (1 + i % 4, min(4, 2 + i % 4)) for i, key in enumerate(ids)}


def audit_notebook(tmp_path: Path, answer_cell_source: str | None) -> Path:
    """A submitted notebook with the self-audit answer cell holding `answer_cell_source`."""
    cells = [a.text("intro", "# Self-audit"), a.code("setup", "x = 1")]
    if answer_cell_source is not None:
        cells.append(a.answer("m00_self_audit", answer_cell_source))
    path = tmp_path / "00-self-audit.ipynb"
    nbformat.write(a.notebook(cells), path)
    return path


def test_the_curriculum_has_thirteen_capabilities(
    ids: list[str], curriculum: Curriculum, tmp_path: Path
) -> None:
    assert len(ids) == 13  # the Statement's 12 and the data skill
    assert course_curriculum(CURRICULUM_FILE.parents[1]) == curriculum
    assert course_curriculum(tmp_path) == curriculum  # outside a course: this checkout's


# -------------------------------------------------------------------- read_self_audit


def test_read_self_audit_returns_the_pasted_answer(
    tmp_path: Path, ids: list[str], full_audit: dict[str, tuple[int, int]]
) -> None:
    source = "# Paste your answer here\n" + answer_source(full_audit)
    path = audit_notebook(tmp_path, source)
    assert read_self_audit(path, ids) == full_audit
    assert read_self_audit(str(path)) == full_audit  # ids from the course's curriculum


def test_read_self_audit_reads_the_solution_form_and_a_double_paste(
    tmp_path: Path, ids: list[str]
) -> None:
    solution = (
        '### BEGIN SOLUTION\nself_audit = {"impact.digital_professionalism": (2, 3)}\n'
        "### END SOLUTION"
    )
    assert read_self_audit(audit_notebook(tmp_path, solution), ids) == {
        "impact.digital_professionalism": (2, 3)
    }
    pasted_over_dots = 'self_audit = self_audit = {"purpose.professional_standards": (1, 4)}'
    assert read_self_audit(audit_notebook(tmp_path, pasted_over_dots), ids) == {
        "purpose.professional_standards": (1, 4)
    }


def test_read_self_audit_does_not_run_code(tmp_path: Path, ids: list[str]) -> None:
    marker = tmp_path / "ran"
    source = f"open({str(marker)!r}, 'w')\nself_audit = {{}}"
    assert read_self_audit(audit_notebook(tmp_path, source), ids) == {}
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("self_audit = ...", "not answered yet"),
        ('self_audit = {"practice.knitting": (1, 2)}', "'practice.knitting' is not one of"),
        ('self_audit = {"practice.online_safeguarding": [1, 2]}', "two whole numbers"),
        ('self_audit = {"practice.online_safeguarding": (1, 5)}', "two whole numbers"),
        ('self_audit = {"practice.online_safeguarding": ("1", 2)}', "two whole numbers"),
        ('self_audit = {"practice.online_safeguarding": (True, 2)}', "two whole numbers"),
        ('self_audit = {"practice.online_safeguarding": (1, 2, 3)}', "two whole numbers"),
        ('self_audit = [("practice.online_safeguarding", 1, 2)]', "should be a dict"),
        ("self_audit = dict(a=1)", "not written as plain values"),
        ("self_audit = {", "not valid Python"),
        ("answer = {}", "no line `self_audit = ...`"),
    ],
)
def test_read_self_audit_names_the_file_and_the_problem(
    tmp_path: Path, ids: list[str], source: str, problem: str
) -> None:
    path = audit_notebook(tmp_path, source)
    with pytest.raises(ValueError) as raised:
        read_self_audit(path, ids)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_read_self_audit_without_the_answer_cell(tmp_path: Path, ids: list[str]) -> None:
    path = audit_notebook(tmp_path, None)
    with pytest.raises(ValueError, match=r"00-self-audit\.ipynb: no answer cell m00_self_audit"):
        read_self_audit(path, ids)


def test_read_self_audit_of_a_missing_or_broken_file(tmp_path: Path, ids: list[str]) -> None:
    for path in (tmp_path / "absent.ipynb", tmp_path / "broken.ipynb"):
        if path.name == "broken.ipynb":
            path.write_text("{not json", encoding="utf-8")
        with pytest.raises(ValueError, match=re.escape(str(path))):
            read_self_audit(path, ids)


# -------------------------------------------------------------------- profile


def test_profile_table_values(curriculum: Curriculum) -> None:
    audit = {"impact.digital_professionalism": (3, 4), "purpose.professional_standards": (2, 2)}
    table = profile_table(audit, curriculum)
    assert list(table.columns) == ["capability", "section", "title", "now", "needed", "gap"]
    assert table.to_dict("records") == [
        {
            "capability": "purpose.professional_standards",
            "section": "Purpose",
            "title": "Meeting professional standards",
            "now": 2,
            "needed": 2,
            "gap": 0,
        },
        {
            "capability": "impact.digital_professionalism",
            "section": "Impact",
            "title": "Developing digital professionalism",
            "now": 3,
            "needed": 4,
            "gap": 1,
        },
    ]


def test_profile_table_rejects_malformed_audits(curriculum: Curriculum) -> None:
    with pytest.raises(ValueError, match="not one of the capability ids"):
        profile_table({"practice.knitting": (1, 2)}, curriculum)


def test_biggest_gaps_largest_first_ties_in_audit_order() -> None:
    audit = {
        "a.one": (1, 3),
        "a.two": (2, 2),
        "a.three": (1, 4),
        "a.four": (3, 1),
        "a.five": (2, 4),
        "a.six": (3, 4),
    }
    assert biggest_gaps(audit) == [("a.three", 3), ("a.one", 2), ("a.five", 2)]
    assert biggest_gaps(audit, n=10) == [("a.three", 3), ("a.one", 2), ("a.five", 2), ("a.six", 1)]
    assert biggest_gaps({"a.one": (4, 2)}) == []
    with pytest.raises(ValueError, match="not \\(now, needed\\) pairs"):
        biggest_gaps({"a.one": (1, "3")})  # type: ignore[dict-item]


def test_profile_chart_draws_solid_and_hatched_bars_with_labels(
    curriculum: Curriculum, full_audit: dict[str, tuple[int, int]]
) -> None:
    figure = profile_chart(full_audit, curriculum)
    axes = figure.axes[0]
    bars = [patch for patch in axes.patches if isinstance(patch, Rectangle)]
    assert len(bars) == 26  # two bars for each of 13 capabilities
    solid = [bar for bar in bars if bar.get_fill()]
    hatched = [bar for bar in bars if not bar.get_fill() and bar.get_hatch()]
    assert [bar.get_width() for bar in solid] == [now for now, _ in full_audit.values()]
    assert [bar.get_width() for bar in hatched] == [needed for _, needed in full_audit.values()]
    assert [text.get_text() for text in axes.texts][:2] == ["1", "2"]
    legend = axes.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == [
        "Now (solid bar)",
        "Needed for my role (hatched bar)",
    ]
    alt = profile_alt_text(profile_table(full_audit, curriculum))
    assert "13 capabilities" in alt
    assert "Meeting professional standards: now 1, needed 2" in alt


def test_show_profile_shows_gaps_or_says_what_to_do_first(
    curriculum: Curriculum,
    full_audit: dict[str, tuple[int, int]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    show_profile(..., curriculum)
    assert "replace the three dots" in capsys.readouterr().out
    show_profile({}, curriculum)
    assert "not rated any capability" in capsys.readouterr().out
    show_profile(full_audit, curriculum)
    out = capsys.readouterr().out
    assert "Your biggest gaps" in out
    assert "Meeting professional standards (purpose.professional_standards): now 1, needed 2" in out
    show_profile({key: (3, 3) for key in full_audit}, curriculum)
    assert "No capability is below" in capsys.readouterr().out


# -------------------------------------------------------------------- visible checks


def test_check_self_audit_raises_only_when_unmarkable(
    curriculum: Curriculum,
    full_audit: dict[str, tuple[int, int]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    for answer in (..., [1, 2], "purpose"):
        with pytest.raises(AnswerFormatError, match="Self-audit"):
            check_self_audit(answer, curriculum)
    check_self_audit(full_audit, curriculum)
    assert "all 13 capabilities rated" in capsys.readouterr().out
    partial = dict(list(full_audit.items())[:10])
    partial["practice.knitting"] = (1, 1)
    check_self_audit(partial, curriculum)
    out = capsys.readouterr().out
    assert "not complete yet" in out
    assert "'practice.knitting' is not one of" in out
    assert "not rated yet: impact.digital_professionalism" in out


def test_check_cpd_plan(curriculum: Curriculum, capsys: pytest.CaptureFixture[str]) -> None:
    entry = {
        "capability": "practice.law_and_regulation",
        "action": "Read the ICO guide",
        "evidence": "CPD log entry",
        "by_when": "",
    }
    with pytest.raises(AnswerFormatError, match="CPD plan"):
        check_cpd_plan(..., curriculum)
    check_cpd_plan([entry] * 3, curriculum)
    out = capsys.readouterr().out
    assert "three entries in the right form" in out
    assert 'Tip: add a "by_when" date to entries 1, 2, 3.' in out
    problems = cpd_problems(
        [entry, {**entry, "capability": "law", "action": " "}, "x"], capability_ids(curriculum)
    )
    assert problems == [
        'entry 2: "capability" should be one of the capability ids, in quotes, such as '
        '"impact.digital_professionalism"',
        'entry 2: write the "action" as words in quotes',
        'entry 3 should be in curly brackets with the keys "capability", "action", "evidence", '
        '"by_when"',
    ]
    assert cpd_problems([entry], ["practice.law_and_regulation"]) == [
        "the plan has 1 entry; write three"
    ]


# -------------------------------------------------------------------- CPD plan files


def test_save_cpd_plan_writes_csv_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = [
        {
            "capability": "practice.law_and_regulation",
            "action": "Read the ICO's guide | notes",
            "evidence": "Reflective log\nentry",
            "by_when": "March",
        },
        {
            "capability": "impact.digital_professionalism",
            "action": "Check my privacy settings",
            "evidence": "Supervision note",
            "by_when": "Next week",
        },
        {
            "capability": "practice.online_safeguarding",
            "action": "Shadow a colleague",
            "evidence": "Case discussion",
        },
    ]
    save_cpd_plan(plan, tmp_path / "plans")
    folder = tmp_path / "plans"
    assert "my_cpd_plan.csv" in capsys.readouterr().out
    with (folder / "my_cpd_plan.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    law = course_curriculum().capability("practice.law_and_regulation").title
    assert rows[0] == {
        "capability": law,
        "capability_id": "practice.law_and_regulation",
        "action": "Read the ICO's guide | notes",
        "evidence": "Reflective log entry",
        "by_when": "March",
    }
    assert rows[2]["by_when"] == ""
    markdown = (folder / "my_cpd_plan.md").read_text(encoding="utf-8")
    lines = markdown.splitlines()
    assert lines[0] == "# My digital capability CPD plan"
    assert "| Capability | Action | Evidence | By when |" in lines
    assert (
        f"| {law} | Read the ICO's guide \\| notes | Reflective log entry"
        " | March |"
    ) in lines
    assert sum(line.startswith("| ") for line in lines) == 5


def test_save_cpd_plan_before_answering_and_with_a_malformed_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_cpd_plan(..., tmp_path)
    assert "Write your plan" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="list of entries"):
        save_cpd_plan(["read more"], tmp_path)


def test_save_cpd_plan_saves_beside_the_notebook_wherever_it_runs(tmp_path: Path) -> None:
    module = tmp_path / "assignments" / "00-self-audit"
    plan = [{"capability": "practice.law_and_regulation", "action": "Read", "evidence": "Note"}]
    save_cpd_plan(plan, module)
    assert sorted(p.name for p in module.iterdir()) == ["my_cpd_plan.csv", "my_cpd_plan.md"]


# -------------------------------------------------------------------- the rating form


def test_rating_form_shows_every_capability_by_section(curriculum: Curriculum) -> None:
    form = rating_form(curriculum)
    assert list(form.now) == capability_ids(curriculum)
    dropdown = form.now["purpose.professional_standards"]
    hidden = '<span class="digiready-visually-hidden">Meeting professional standards: </span>'
    assert dropdown.description == f"{hidden}Level now" and dropdown.description_allow_html
    assert form.needed["purpose.professional_standards"].description == (
        f"{hidden}Level needed for my role")
    assert [label for label, _ in dropdown.options][1:3] == [
        "1 – Knowing and understanding",
        "2 – Able to use",
    ]
    texts = [child.value for child in form.widget.children if hasattr(child, "value")]
    headings = [text for text in texts if text.startswith("<h3>")]
    assert headings == [
        "<h3>Purpose</h3>", "<h3>Practice</h3>", "<h3>Impact</h3>", "<h3>Cross-cutting</h3>"
    ]
    first = next(text for text in texts if "Meeting professional standards" in text)
    statements = curriculum.capability("purpose.professional_standards").can_statements
    assert all(html.escape(statement) in first for statement in statements)
    assert form.button.description == "Create my answer"


def test_rating_form_click_writes_an_answer_that_reads_back(
    curriculum: Curriculum, full_audit: dict[str, tuple[int, int]]
) -> None:
    form = rating_form(curriculum)
    for key, (now, needed) in full_audit.items():
        form.now[key].value = now
        form.needed[key].value = needed
    form.button.click()
    shown = re.search(r"<pre[^>]*>(.*)</pre>", form.answer.value, re.DOTALL)
    assert shown is not None
    text = html.unescape(shown.group(1))
    assert text == form.answer_text
    assert text.startswith("self_audit = {")
    assert ast.literal_eval(text.split("=", 1)[1].strip()) == full_audit
    assert "Not rated yet" not in form.answer.value


def test_rating_form_leaves_out_and_names_unfinished_ratings(curriculum: Curriculum) -> None:
    form = rating_form(curriculum)
    form.now["practice.online_safeguarding"].value = 2
    form.needed["practice.online_safeguarding"].value = 4
    form.now["impact.digital_professionalism"].value = 3  # needed not chosen
    form.button.click()
    namespace: dict[str, object] = {}
    exec(form.answer_text, namespace)  # the pasted cell runs as it would in the notebook
    assert namespace["self_audit"] == {"practice.online_safeguarding": (2, 4)}
    assert "Not rated yet" in form.answer.value
    assert "Developing digital professionalism" in form.answer.value
