"""The readiness report: files, content, accessibility structure, CSVs that keep ids as text,
and student pages that hold only their own student's data."""

from __future__ import annotations

import csv
import html
import math
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from digiready.course.curriculum import Curriculum
from digiready.reporting.cohort_scores import COLUMNS
from digiready.reporting.readiness import pathway_capabilities
from digiready.reporting.report import (
    STUDENTS_DIR,
    ReportTemplateError,
    distribution_alt,
    page_name,
    write_report,
)

CSVS = (
    "readiness",
    "module_scores",
    "item_analysis",
    "weakest_capabilities",
    "not_yet_ready",
    "confidence_vs_competence",
)
STUDENTS = ["0012345", "0099001", "Zed-7", 'odd/<b>&"id', "CON"]
SAFE = "practice.online_safeguarding"
LAW = "practice.law_and_regulation"
PROF = "impact.digital_professionalism"


def _scores() -> pd.DataFrame:
    """Five students on two modules; the stronger the student, the more they score."""
    rows = []
    items = [  # two items a level where a level can be claimed (the report's evidence rule)
        ("09-online-safeguarding", "m09_q1_1_test", SAFE, 1, 4.0),
        ("09-online-safeguarding", "m09_q1_2_test", SAFE, 1, 2.0),
        ("09-online-safeguarding", "m09_q3_1_test", LAW, 2, 4.0),
        ("09-online-safeguarding", "m09_q3_2_test", LAW, 2, 2.0),
        ("09-online-safeguarding", "m09_q4_1_test", SAFE, 3, 3.0),
        ("09-online-safeguarding", "m09_q4_2_test", SAFE, 3, 3.0),
        ("09-online-safeguarding", "m09_reflection", SAFE, 3, 5.0),
        ("00-self-audit", "m00_self_audit_test", PROF, 1, 2.0),
        ("00-self-audit", "m00_cpd_plan_test", PROF, 2, 2.0),
    ]
    for strength, student in enumerate(STUDENTS):
        for module, grade_id, capability, level, points in items:
            manual = grade_id.endswith("reflection")
            pending = manual and strength % 2 == 0
            score = math.nan if pending else min(points, points * strength / 3)
            rows.append(
                {
                    "student": student,
                    "module": module,
                    "grade_id": grade_id,
                    "kind": "manual" if manual else "auto",
                    "capability": capability,
                    "level": level,
                    "max_score": points,
                    "score": score,
                    "needs_manual_grade": pending,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _answers(scores: pd.DataFrame) -> pd.DataFrame:
    auto = scores[scores["kind"] == "auto"]
    answer = ["'b'" if full else "'c'" for full in auto["score"] == auto["max_score"]]
    return auto[["student", "module", "grade_id"]].assign(answer=answer)


RATINGS = {
    "0012345": {SAFE: (4, 4), LAW: (1, 3)},
    "Zed-7": {SAFE: (2, 3)},
    "not-in-cohort": {SAFE: (1, 1)},
}


@pytest.fixture(scope="module")
def report(curriculum: Curriculum, tmp_path_factory: pytest.TempPathFactory) -> Path:
    scores = _scores()
    return write_report(
        scores,
        curriculum,
        tmp_path_factory.mktemp("report"),
        self_ratings=RATINGS,
        answers=_answers(scores),
    )


class Structure(HTMLParser):
    """Headings, images, tables and header cells of a page, as parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.images: list[dict[str, str | None]] = []
        self.tables = 0
        self.captions = 0
        self.header_cells: list[dict[str, str | None]] = []
        self.level_cells: list[str] = []
        self._in_level_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th":
            self.header_cells.append(attributes)
        elif tag == "td" and re.search(r"\b(l[0-4]|na)\b", attributes.get("class") or ""):
            self._in_level_cell = True
            self.level_cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_level_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_level_cell:
            self.level_cells[-1] += data


def parse(path: Path) -> Structure:
    parser = Structure()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_report_files_exist(report: Path) -> None:
    assert report.name == "report.html"
    for name in CSVS:
        assert (report.parent / f"{name}.csv").is_file()
    pages = sorted(path.name for path in (report.parent / STUDENTS_DIR).iterdir())
    assert pages == sorted(page_name(student) for student in STUDENTS)


def test_every_student_and_capability_appears(report: Path, curriculum: Curriculum) -> None:
    text = html.unescape(report.read_text(encoding="utf-8"))
    for student in STUDENTS:
        assert f">{student}<" in text
    for capability in curriculum.capabilities:
        assert f"<code>{capability.id}</code>" in text
        assert capability.title in text
    assert "Use of technology and numerical skills" in text
    readiness = read_csv(report.parent / "readiness.csv")
    assert [row["student"] for row in readiness] == sorted(STUDENTS)
    assert list(readiness[0])[1:] == [c.id for c in curriculum.capabilities]
    weakest = read_csv(report.parent / "weakest_capabilities.csv")
    assert {row["capability"] for row in weakest} == {c.id for c in curriculum.capabilities}
    modules = read_csv(report.parent / "module_scores.csv")
    assert {row["student"] for row in modules} == set(STUDENTS)


def test_levels_in_csv_and_html_match_the_rule(report: Path) -> None:
    readiness = {row["student"]: row for row in read_csv(report.parent / "readiness.csv")}
    # "0012345" scores nothing: level 0 where assessed, blank (not assessed) elsewhere.
    assert readiness["0012345"][SAFE] == "0"
    assert readiness["0012345"]["purpose.professional_standards"] == ""
    # "Zed-7" (strength 2) earns 2/3 of every automatic item; its reflection is pending.
    assert readiness["Zed-7"][SAFE] == "3"
    assert readiness["Zed-7"][LAW] == "2"
    structure = parse(report)
    assert structure.level_cells and all(
        cell in {"0", "1", "2", "3", "4", "n/a"} for cell in structure.level_cells
    )


def test_ids_with_leading_zeros_survive_in_every_csv(report: Path) -> None:
    for name in CSVS:
        rows = read_csv(report.parent / f"{name}.csv")
        if "student" in (rows[0] if rows else {}):
            assert "0012345" in {row["student"] for row in rows}, name
    raw = (report.parent / "readiness.csv").read_text(encoding="utf-8")
    assert '"0012345"' in raw


def test_headings_images_and_tables_are_accessible(report: Path) -> None:
    pages = [report, *sorted((report.parent / STUDENTS_DIR).iterdir())]
    for page in pages:
        structure = parse(page)
        assert structure.headings[0] == 1, page
        for before, after in zip(structure.headings, structure.headings[1:], strict=False):
            assert after <= before + 1, f"{page}: h{before} then h{after}"
        assert structure.tables == structure.captions > 0, page
        assert all(cell.get("scope") in {"col", "row"} for cell in structure.header_cells), page
        assert all((image.get("alt") or "").strip() for image in structure.images), page
    main = parse(report)
    html = report.read_text(encoding="utf-8")
    marker = "Not assessed yet by any graded module: "
    listed = html.split(marker, 1)[1].split("</p>", 1)[0].split("; ") if marker in html else []
    assert main.images and len(main.images) + len(listed) == 13  # a chart or a mention each
    assert all(str(image["src"]).startswith("data:image/png;base64,") for image in main.images)


def test_chart_alt_text_is_written_from_the_data(report: Path) -> None:
    alt = distribution_alt("Online safeguarding", [1, 2, 0, 3, 0], 4)
    assert "level 0: 1; level 1: 2; level 2: 0; level 3: 3; level 4: 0" in alt
    assert "Not assessed: 4" in alt
    alts = [str(image["alt"]) for image in parse(report).images]
    assert any("Not assessed: 0" in alt for alt in alts)  # safeguarding: everyone assessed


def test_text_from_data_is_escaped(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<b>&" not in text
    assert "odd/&lt;b&gt;&amp;" in text
    assert 'odd/<b>&"id' in html.unescape(text)


def test_sections_in_order(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    sections = re.findall(r"<h2[^>]*>(.*?)</h2>", text)
    assert sections == [
        "Headline",
        "Cohort summary",
        "Submissions missing, flagged or late",
        "Readiness by student and capability",
        "Distribution of levels per capability",
        "Weakest capabilities",
        "Not yet ready: for tutor follow-up",
        "Item analysis",
        "Confidence and competence",
        "How the capabilities map to the frameworks",
    ]
    assert "'c' (" in html.unescape(text)  # the commonest wrong answer, with its count


def test_student_pages_hold_only_their_own_data(report: Path, curriculum: Curriculum) -> None:
    folder = report.parent / STUDENTS_DIR
    for student in STUDENTS:
        text = html.unescape((folder / page_name(student)).read_text(encoding="utf-8"))
        assert f"<strong>{student}</strong>" in text
        assert text.count('<th scope="row">09-online-safeguarding ') == 1  # own row only
        for other in STUDENTS:
            if other != student:
                assert other not in text, (student, other)
    zed = html.unescape((folder / page_name("Zed-7")).read_text(encoding="utf-8"))
    safeguarding = curriculum.capability(SAFE)
    assert safeguarding.can_statements[2] in zed  # level 3 reached
    assert f"Level 4: {safeguarding.can_statements[3]}" in zed  # next step
    assert "1 answer is waiting for your tutor" in zed  # its reflection is pending
    assert "Your self-rating and your assessed level" in zed
    assert "Your self-rating" not in (folder / page_name("0099001")).read_text(encoding="utf-8")


def test_page_names_are_safe_and_distinct() -> None:
    ids = ["0012345", "a/b", "a%2Fb", "..", "CON", "con", "x:y*z?", "dé jà", "", "<>|\\"]
    names = [page_name(student) for student in ids]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_%-]+\.html", name), name
    assert page_name("0012345") == "0012345.html"
    assert page_name("CON") != "CON.html"


def test_pathway_restricts_modules_and_capabilities(curriculum: Curriculum, tmp_path: Path) -> None:
    scores = _scores()
    refresher = scores[scores["module"] == "00-self-audit"].assign(module="18-refresher-impact")
    path = write_report(
        pd.concat([scores, refresher], ignore_index=True),
        curriculum,
        tmp_path,
        pathway="qualifying",
        student_pages=False,
    )
    covered = pathway_capabilities(curriculum, "qualifying")
    readiness = read_csv(tmp_path / "readiness.csv")
    assert list(readiness[0])[1:] == covered
    modules = {row["module"] for row in read_csv(tmp_path / "module_scores.csv")}
    assert modules == {"00-self-audit", "09-online-safeguarding"}  # 18 is not on it
    assert not (tmp_path / STUDENTS_DIR).exists()
    assert "Qualifying social work programme (qualifying)" in path.read_text(encoding="utf-8")
    assert 'href="students/' not in path.read_text(encoding="utf-8")


def test_report_without_self_audits_or_answers(curriculum: Curriculum, tmp_path: Path) -> None:
    path = write_report(_scores(), curriculum, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "No submitted self-audit could be compared" in text
    rows: list[Any] = read_csv(tmp_path / "confidence_vs_competence.csv")
    assert rows == []


GOLDEN = Path(__file__).resolve().parent / "golden" / "report"


def test_csvs_match_their_golden_copies(report: Path) -> None:
    """The small report's CSVs, byte for byte, against reviewed copies in tests/golden/report/
    (after a deliberate change, regenerate with DIGIREADY_UPDATE_GOLDEN=1 and review the diff)."""
    written = sorted(report.parent.glob("*.csv"))
    if os.environ.get("DIGIREADY_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for path in written:
            shutil.copy(path, GOLDEN / path.name)
    assert [p.name for p in written] == sorted(p.name for p in GOLDEN.glob("*.csv"))
    for path in written:
        assert path.read_bytes() == (GOLDEN / path.name).read_bytes(), path.name


def test_reference_students_are_shown_apart_and_never_counted(
    curriculum: Curriculum, tmp_path: Path
) -> None:
    scores = _scores()
    with_refs = pd.concat(
        [scores, scores[scores["student"] == "Zed-7"].assign(student="demo-solution")]
    )
    path = write_report(with_refs, curriculum, tmp_path, references=["demo-solution"])
    html_text = path.read_text(encoding="utf-8")
    assert "1 reference submission(s) are not counted" in html_text
    assert re.search(r"<h2[^>]*>Reference submissions</h2>", html_text)
    assert "of 5 students are ready" in html_text
    readiness = read_csv(tmp_path / "readiness.csv")
    assert "demo-solution" not in [row["student"] for row in readiness]
    assert "demo-solution" not in (tmp_path / "module_scores.csv").read_text(encoding="utf-8")


def test_readiness_table_has_no_all_na_column(report: Path) -> None:
    structure = (report).read_text(encoding="utf-8")
    table = structure.split('<table class="heat">', 1)[1].split("</table>", 1)[0]
    header = table.split("<tbody>", 1)[0]
    columns = header.count('<th scope="col">') - 1
    rows = table.split("<tbody>", 1)[1].split("</tr>")[:-1]
    for index in range(columns):
        cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[index] for row in rows]
        assert set(cells) != {"n/a"}, f"column {index} is n/a for everyone"


HOSTILE_ID = '"><img src=x onerror=alert(1)>'
HOSTILE_NAME = "<script>alert(1)</script>"


class Rendered(HTMLParser):
    """Every element with its attributes, and the page's text, as a browser would parse them."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def test_hostile_ids_and_names_are_text_everywhere(curriculum: Curriculum, tmp_path: Path) -> None:
    scores = _scores()
    scores["student"] = scores["student"].replace("Zed-7", HOSTILE_ID)
    statuses = pd.DataFrame(
        [[HOSTILE_ID, HOSTILE_NAME, "09-online-safeguarding", "flagged: " + HOSTILE_NAME]],
        columns=["student", "name", "module", "status"],
    )
    path = write_report(scores, curriculum, tmp_path, statuses=statuses)
    page = tmp_path / STUDENTS_DIR / page_name(HOSTILE_ID)
    # the report names them in the heat map, not-yet-ready list and submissions; their page in
    # its title and first line
    who = f"{HOSTILE_ID} {HOSTILE_NAME}"
    for shown, expected, times in ((path, who, 3), (page, HOSTILE_ID, 2)):
        rendered = Rendered(shown)
        assert "script" not in {tag for tag, _ in rendered.elements}, shown
        for tag, attrs in rendered.elements:
            assert not any(name.startswith("on") for name in attrs), (shown, tag, attrs)
            assert tag != "img" or str(attrs["src"]).startswith("data:image/png;base64,")
        assert rendered.text.count(expected) == times, shown
    links = [attrs["href"] for tag, attrs in Rendered(path).elements if tag == "a"]
    assert links.count(f"{STUDENTS_DIR}/{page_name(HOSTILE_ID).replace('%', '%25')}") == 3


def test_templates_of_your_own_come_first(curriculum: Curriculum, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "student.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Summary for {{ student }}</h1>'
        "{% endblock %}",
        encoding="utf-8",
    )
    (own / "report.css").write_text("main { max-width: 50rem; }\n", encoding="utf-8")
    path = write_report(_scores(), curriculum, tmp_path / "report", templates=own)
    page = (tmp_path / "report" / STUDENTS_DIR / page_name('odd/<b>&"id')).read_text("utf-8")
    assert "<h1>Summary for odd/&lt;b&gt;&amp;" in page  # still escaped
    assert "Your level in each capability" not in page
    assert "main { max-width: 50rem; }" in page
    report = path.read_text(encoding="utf-8")
    assert "main { max-width: 50rem; }" in report
    assert "Readiness by student and capability" in report  # report.html itself not replaced


def test_a_broken_template_writes_nothing(curriculum: Curriculum, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "macros.html").write_text("{% macro data_table(table) %}\n{{ table.rows }\n",
                                     encoding="utf-8")
    with pytest.raises(ReportTemplateError, match=r"^macros\.html, line 2: "):
        write_report(_scores(), curriculum, tmp_path / "report", templates=own)
    assert not (tmp_path / "report").exists()
