"""What a student wrote or their code displayed never runs as script in the lecturer's formgrader
or in feedback, and feedback never shows hidden tests, however a submission's code tries.

Submissions of the fixture module are graded in the sandbox with `digiready grade`'s
`grade_cohort`; feedback is made with nbgrader's GenerateFeedback as `nbgrader_config.py`
configures it, and the formgrader's page with formgrader's own nbconvert template.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.server_extensions.formgrader import handlers

from conftest import FIXTURE, REPO
from digiready.cohort_grading import Outcome, autograded_dir, grade_cohort, submission_dir
from digiready.curriculum import course_curriculum
from digiready.grading import prepare_course
from digiready.items import read_notebook
from digiready.nbgrader_run import CONFIG_FILE, course_config, run_converter
from digiready.paths import CourseLayout
from digiready.safe_notebook import sanitise_notebook, sanitised_notes

pytestmark = pytest.mark.usefixtures("sandbox_available")

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
IMG = "<img src=x onerror=\"alert('xss-md')\">"
SCRIPT = "<script>alert('xss-script')</script>"
LINK = "[more](javascript:alert('xss-link'))"
REFLECTION = f"I would check the app's settings first. {IMG} {SCRIPT} {LINK}"
OWN_CELL = "<svg onload=\"alert('xss-own-cell')\"></svg> a note of my own"
DISPLAYS = """from IPython.display import HTML, Javascript, display
display(HTML("<img src=x onerror=\\"alert('xss-html-out')\\">"))
display(Javascript("alert('xss-js-out')"))
display({"image/png": '"><script>alert("xss-png")</script>', "text/plain": "an image"}, raw=True)
display({"image/svg+xml": "<svg onload=\\"alert('xss-svg')\\"/>"}, raw=True)
print("plain output stays")"""
PRE_RUN = """
def _show(info):
    print(info.raw_cell)
get_ipython().events.register("pre_run_cell", _show)"""
POST_RUN = """
def _show(result):
    print(result.info.raw_cell)
get_ipython().events.register("post_run_cell", _show)"""
KEEP = """
SEEN = []
get_ipython().events.register("pre_run_cell", lambda info: SEEN.append(info.raw_cell))"""


def _cell(notebook: Any, grade_id: str) -> Any:
    return next(c for c in notebook.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _setup(notebook: Any) -> Any:
    return next(c for c in notebook.cells if c.get("id") == "setup")


def _xss(notebook: Any) -> Any:
    _cell(notebook, "m99_reflection").source = REFLECTION
    _cell(notebook, "m99_q1_1").source = DISPLAYS + "\n" + _cell(notebook, "m99_q1_1").source
    notebook.cells.append(nbformat.v4.new_markdown_cell(OWN_CELL))
    return notebook


def _pre_run(notebook: Any) -> Any:
    _setup(notebook).source += PRE_RUN
    return notebook


def _post_run_and_wrong(notebook: Any) -> Any:
    _setup(notebook).source += POST_RUN
    _cell(notebook, "m99_q1_1").source = 'answer_1_1 = "a"'
    _cell(notebook, "m99_q1_2").source = 'answer_1_2 = {"a"}'
    return notebook


def _replay_later(notebook: Any) -> Any:
    _setup(notebook).source += KEEP
    answer = _cell(notebook, "m99_q1_2")
    answer.source = 'print("\\n".join(SEEN))\n' + answer.source
    return notebook


STUDENTS = {
    "good": lambda notebook: notebook,
    "xss": _xss,
    "pre-run": _pre_run,
    "post-run": _post_run_and_wrong,
    "replay": _replay_later,
}


@pytest.fixture(scope="module")
def graded(
    built_fixture_course: CourseLayout, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Outcome]]:
    """Every submission graded in one sandboxed run, and its feedback generated."""
    root = tmp_path_factory.mktemp("content-safety") / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    solution = built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    for student, edit in STUDENTS.items():
        folder = submission_dir(root, FIXTURE, student)
        folder.mkdir(parents=True)
        nbformat.write(edit(read_notebook(solution)), folder / f"{FIXTURE}.ipynb")
    outcomes = {o.student: o for o in grade_cohort(root, FIXTURE, workers=2)}
    config = course_config(root / CONFIG_FILE, root)
    for student in STUDENTS:
        run_converter(GenerateFeedback, config, FIXTURE, student)
    return root, outcomes


def feedback_page(root: Path, student: str) -> str:
    return (root / "feedback" / student / FIXTURE / f"{FIXTURE}.html").read_text(encoding="utf-8")


def formgrader_page(root: Path, student: str) -> str:
    """The autograded notebook as formgrader renders it for a lecturer."""
    exporter = HTMLExporter(template_name="formgrade",
                            extra_template_basedirs=[handlers.template_path])
    resources = {"assignment_id": FIXTURE, "notebook_id": FIXTURE, "submission_id": "x",
                 "index": 0, "total": 1, "base_url": "", "student": student,
                 "last_name": None, "first_name": None, "notebook_path": "autograded/x"}
    page, _ = exporter.from_filename(
        str(autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb"), resources=resources)
    return str(page)


def script_url(url: str) -> bool:
    """True when a browser would read `url`'s scheme as javascript, vbscript or data (text)."""
    cleaned = re.sub(r"[\t\n\r]", "", url.lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08 "))
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return scheme is not None and (
        scheme[1].lower() in ("javascript", "vbscript")
        or cleaned.lower().startswith(("data:text", "data:image/svg", "data:application"))
    )


class ScriptFinder(HTMLParser):
    """Records what in a page would run as script and mentions `marker`."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and self.marker in value:
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and script_url(value):
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
        self._in_script = tag == "script"
        if tag in ("svg", "iframe", "object", "embed"):
            self.found.append(f"<{tag}> element")

    def handle_data(self, data: str) -> None:
        if self._in_script and self.marker in data:
            self.found.append(f"<script>{data[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def runnable(page: str) -> list[str]:
    finder = ScriptFinder("xss-")
    finder.feed(page)
    return finder.found


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize("view", ["formgrader", "feedback"])
def test_students_html_and_script_show_as_text_and_never_run(
    graded: tuple[Path, dict[str, Outcome]], view: str
) -> None:
    root, outcomes = graded
    assert outcomes["xss"].status == "graded", outcomes["xss"]
    page = formgrader_page(root, "xss") if view == "formgrader" else feedback_page(root, "xss")
    assert runnable(page) == []
    text = visible_text(page)
    assert IMG in text and SCRIPT in text  # the reflection is still readable, as text
    assert "a note of my own" in text
    if view == "formgrader":  # feedback shows no output after the first test (see below)
        assert "plain output stays" in text


def test_reference_views_are_clean(graded: tuple[Path, dict[str, Outcome]]) -> None:
    """The checks above can see an attack: the good student's pages have none to find."""
    root, _ = graded
    assert runnable(formgrader_page(root, "good")) == []
    finder = ScriptFinder("xss-")
    finder.feed('<img src=x onerror="alert(\'xss-a\')"><script>alert("xss-b")</script>'
                '<a href=" Java\tScript:alert(1)">x</a><a href="javascript%E2%80%8B:x">y</a>')
    assert len(finder.found) == 3


def test_html_or_script_in_a_submission_is_a_reason_to_review(
    graded: tuple[Path, dict[str, Outcome]],
) -> None:
    root, _ = graded
    def executed(student: str) -> Any:
        return read_notebook(autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb")

    notes = sanitised_notes(executed("xss"))
    assert len(notes) == 1 and "m99_reflection" in notes[0] and "m99_q1_1" in notes[0], notes
    assert sanitised_notes(executed("good")) == []


def hidden_lines(root: Path) -> set[str]:
    """Every substantial line of the module's hidden tests."""
    source = read_notebook(root / "course" / FIXTURE / f"{FIXTURE}.ipynb")
    return {line.strip() for cell in source.cells for block in HIDDEN.findall(cell.source)
            for line in block.splitlines() if len(line.strip()) >= 12}


@pytest.mark.parametrize("student", ["good", "pre-run", "post-run", "replay"])
def test_feedback_shows_scores_and_no_hidden_tests(
    graded: tuple[Path, dict[str, Outcome]], student: str
) -> None:
    root, outcomes = graded
    assert outcomes[student].status == "graded", outcomes[student]
    text = visible_text(feedback_page(root, student))
    leaked = sorted(line for line in hidden_lines(root) if line in text)
    assert not leaked, leaked
    if student == "post-run":
        assert "Question 1.1: 0 of 2 points \u2014 not right" in text
        assert "Question 1.2: 1.5 of 3 points \u2014 partly right" in text
    else:
        assert "Question 1.1: 2 of 2 points \u2014 right" in text
        assert "Question 1.2: 3 of 3 points \u2014 right" in text


def test_the_hooks_did_print_the_hidden_tests_while_grading(
    graded: tuple[Path, dict[str, Outcome]],
) -> None:
    """The attack is real: the autograded notebooks (lecturers only) hold the printed tests."""
    root, _ = graded
    for student in ("pre-run", "post-run", "replay"):
        notebook = autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb"
        outputs = "".join(str(o.get("text", "")) for c in read_notebook(notebook).cells
                          for o in c.get("outputs", []))
        assert any(line in outputs for line in hidden_lines(root)), student


MODULES = [module.id for module in course_curriculum(REPO.root).complete_modules]


@pytest.mark.parametrize("module", MODULES)
def test_the_modules_own_outputs_are_no_reason_to_review(module: str) -> None:
    """Tables (pandas' HTML with its <style>), charts and widgets that the module itself shows
    are dropped or kept as text, but never flag an honest submission."""
    solution = read_notebook(REPO.module_notebook(REPO.solutions, module))
    # A module without tables or charts (08) still shows widgets and their page script.
    rich = {"text/html", "application/javascript", "application/vnd.jupyter.widget-view+json"}
    assert any(rich & set(output.get("data", {})) for cell in solution.cells
               for output in cell.get("outputs", [])), "the solution shows HTML, script or widgets"
    assert sanitise_notebook(solution) == []
