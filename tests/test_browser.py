"""The student experience in a real browser: JupyterLab in headless Chromium, driven by Playwright.

For every complete module, a temporary copy of its release is opened in JupyterLab and run cell
by cell; then, as a student would, every scenario widget is stepped through by clicking and one
by keyboard alone, a practice item is answered, a wrong answer is typed into a graded item and
its visible check run, and the notebook saved. Screenshots of each step go to the folder named
at the end of the pytest run. The accessibility tests read Chromium's accessibility tree and the
rendered page. What to do is read from each notebook (nbgrader metadata, answer placeholders,
the calls that show widgets), so a module marked complete in curriculum.yml is tested as it is.

Without Chromium or Playwright these tests are skipped with how to install them, except under
CI (the CI environment variable set), where that is a failure.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from markdown_it import MarkdownIt

from conftest import CHROMIUM, COMPLETE_MODULES, REPO, SCREENSHOTS, need_browser
from digiready.course.curriculum import course_curriculum

if TYPE_CHECKING:
    from browser_harness import Lab, StudentNotebook

pytestmark = pytest.mark.browser

ANSWER = re.compile(r"^(answer_(\d+)_(\d+)) = \.\.\.$", re.MULTILINE)
WRONG_ANSWER = '"not sure"'
MUTANT_TIMEOUT_MS = 3_000
# What a traceback shows and plain guidance never does.
TRACEBACK_SIGNS = ("Traceback", "Cell In[", "skipping hidden frames", "site-packages",
                   "AnswerFormatError", "NameError", "SyntaxError", "KeyError", "ValueError")
CHECK = re.compile(r"^\s*(check_\w+)\(", re.MULTILINE)
LOAD = re.compile(r'^(\w+) = load\("(\w+)"\)', re.MULTILINE)
STUDENT = "student1"
# Tests of what every module shares (the widgets' script and styles, the Lab's settings, nbgrader's
# validate and autograde round trip, every widget walked by mouse) run on the two modules built to
# exercise all of it; tests of a module's own cells (Run All, a scenario by keyboard, a graded
# check, names, alt text, headings) run on every complete module, so the suite stays well inside
# CI's half hour as modules are added.
SHARED_MACHINERY = pytest.mark.parametrize(
    "module", ["00-self-audit", "09-online-safeguarding"], indirect=True
)


@dataclass(frozen=True)
class NotebookPlan:
    """What a student meets in one release notebook, by cell index."""

    code: list[int]
    checks: list[int]
    scenarios: list[int]
    practice: list[int]
    answer: int
    variable: str
    question: str
    markdown_headings: int
    setup: int
    letter_answer: int  # the first item answered with one letter in quotes
    number_answer: int | None  # the first item answered with a number (may be len(...)), if any
    table: tuple[str, str] | None  # the first data table the notebook loads: (name, dataset)
    written: list[int]  # manually graded text answers (reflections)
    forms: list[int]  # the self-audit rating form

    @staticmethod
    def variable_of(source: str) -> tuple[str, str]:
        """("answer_2_1", "2.1") for an answer cell's source."""
        match = ANSWER.search(source)
        assert match, source
        return match[1], f"{match[2]}.{match[3]}"

    @property
    def widgets(self) -> list[int]:
        """Cells that show a scenario view: branching scenarios and practice questions."""
        return sorted(self.scenarios + self.practice)

    @property
    def keyboard_walk(self) -> int:
        """The widget walked by keyboard: the first scenario, else the first practice item."""
        return (self.scenarios or self.practice)[0]


def plan_notebook(path: Path) -> NotebookPlan:
    """Read the plan from a notebook's cells and their nbgrader metadata."""
    cells = nbformat.read(path, as_version=4).cells
    headings = MarkdownIt("commonmark").parse
    answers = [
        (index, match)
        for index, cell in enumerate(cells)
        if cell.metadata.get("nbgrader", {}).get("solution")
        and cell.cell_type == "code"
        and (match := ANSWER.search(cell.source))
    ]
    assert answers, f"{path}: no answer cell with a line like `answer_1_1 = ...`"
    answer, match = answers[0]
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    checks = [i for i in code if cells[i].metadata.get("nbgrader", {}).get("grade")]
    assert answer + 1 in checks, f"{path}: no visible check right below answer cell {answer}"
    check_of = {index: CHECK.findall(cells[index + 1].source) for index, _ in answers}
    loads = [match for cell in cells if cell.cell_type == "code"
             for match in LOAD.findall(cell.source)]
    return NotebookPlan(
        code=code,
        checks=checks,
        scenarios=[i for i in code if "show_scenario(" in cells[i].source],
        practice=[i for i in code if "practice_question(" in cells[i].source],
        answer=answer,
        variable=match[1],
        question=f"{match[2]}.{match[3]}",
        markdown_headings=sum(
            token.type == "heading_open"
            for cell in cells
            if cell.cell_type == "markdown"
            for token in headings(cell.source)
        ),
        setup=next(i for i in code if "install_help(" in cells[i].source),
        letter_answer=next(i for i, _ in answers if check_of[i][:1] == ["check_letter"]),
        number_answer=next((i for i, _ in answers if check_of[i][:1] == ["check_number"]), None),
        table=loads[0] if loads else None,
        written=[i for i, cell in enumerate(cells) if cell.cell_type == "markdown"
                 and cell.metadata.get("nbgrader", {}).get("solution")],
        forms=[i for i in code if "rating_form(" in cells[i].source],
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """One JupyterLab server and one Chromium for this file (gone before the hub test starts its
    own Playwright), serving copies of the releases."""
    need_browser()
    from browser_harness import Lab

    screenshots = request.config.getoption("--browser-screenshots") or (
        tmp_path_factory.getbasetemp() / "browser-screenshots"
    )
    request.config.stash[SCREENSHOTS] = screenshots
    served = tmp_path_factory.mktemp("served")
    for module in COMPLETE_MODULES:
        shutil.copytree(REPO.release / module, served / module)
    lab = Lab(served, tmp_path_factory.mktemp("private"), Path(CHROMIUM), Path(screenshots))
    try:
        yield lab
    finally:
        lab.close()
    assert lab.still_running() == []


@dataclass
class OpenModule:
    """A module's release open in the browser after running every code cell once."""

    module_id: str
    plan: NotebookPlan
    notebook: StudentNotebook
    succeeded: dict[int, bool]


@pytest.fixture(scope="module", params=COMPLETE_MODULES)
def module(request: pytest.FixtureRequest, lab: Lab) -> Iterator[OpenModule]:
    module_id: str = request.param
    notebook_path = f"{module_id}/{module_id}.ipynb"
    plan = plan_notebook(lab.served / notebook_path)
    with lab.open(notebook_path, module_id) as notebook:
        notebook.assert_no_dialog()
        notebook.screenshot("opened")
        succeeded = {index: notebook.run_cell(index) for index in plan.code}
        notebook.screenshot("ran-every-cell", plan.code[-1])
        yield OpenModule(module_id, plan, notebook, succeeded)


def test_every_cell_runs_and_unanswered_checks_guide(module: OpenModule) -> None:
    """Only the visible checks fail on the release, each saying how to answer."""
    failed = [index for index, ok in module.succeeded.items() if not ok]
    assert failed == module.plan.checks
    for index in module.plan.checks:
        shown = module.notebook.output_text(index)
        assert re.search(r"^(Question [\d.]+|Self-audit|CPD plan): not answered yet", shown), (
            index, shown)
        assert_plain(shown)


def assert_plain(shown: str) -> None:
    """The output is guidance in words, with nothing of a Python traceback."""
    assert not [sign for sign in TRACEBACK_SIGNS if sign in shown], shown


def test_setup_cell_says_ready_in_one_line(module: OpenModule) -> None:
    """Part 7: the setup cell prints one line saying the tools are ready."""
    shown = module.notebook.output(module.plan.setup).all_text_contents()
    assert len(shown) == 1 and shown[0].startswith("Ready:") and "\n" not in shown[0].strip()


@SHARED_MACHINERY
def test_every_scenario_by_clicking(module: OpenModule) -> None:
    """Every scenario and practice widget: choose, read feedback, continue, debrief, restart."""
    notebook = module.notebook
    assert notebook.page.locator(".digiready-scenario").count() == len(module.plan.widgets)
    for index in module.plan.widgets:
        path = notebook.walk(index, f"cell-{index}")
        assert path, f"cell {index}: no step taken"
    notebook.assert_no_dialog()


def test_scenario_with_keyboard_alone(module: OpenModule) -> None:
    """A keyboard user reaches, completes and restarts a scenario; the notebook is untouched."""
    index = module.plan.keyboard_walk
    assert module.notebook.walk(index, f"cell-{index}", keyboard=True)


@SHARED_MACHINERY
def test_practice_item_gives_feedback_on_every_option(module: OpenModule) -> None:
    """Each option of the first practice item earns a verdict in words; one is right."""
    feedback = module.notebook.try_each_option(module.plan.practice[0])
    assert all(re.search(r"Yes\.|Not quite\.", text) for text in feedback), feedback
    assert sum("Yes." in text for text in feedback) == 1, feedback


def test_graded_item_check_guides_a_wrong_answer_and_saves(module: OpenModule) -> None:
    """Typed into the answer cell, a wrong answer gets a guiding question; File > Save Notebook
    saves it."""
    notebook, plan = module.notebook, module.plan
    typed = f"{plan.variable} = {WRONG_ANSWER}"
    shown = notebook.answer_and_check(plan.answer, typed)
    notebook.screenshot("graded-item-checked", plan.answer)
    assert re.search(rf"^Question {re.escape(plan.question)}: [^?]+\?", shown)
    assert "not answered yet" not in shown
    assert_plain(shown)
    notebook.save(menu=True)  # as the how-to says: File > Save Notebook
    notebook.screenshot("saved", plan.answer)
    assert nbformat.read(notebook.path, as_version=4).cells[plan.answer].source == typed


def test_widget_controls_have_accessible_names(module: OpenModule) -> None:
    """Every visible button, option, dropdown and text box in a widget has a name."""
    notebook = module.notebook
    cells = [i for i in module.plan.code if notebook.cell(i).locator(".jupyter-widgets").count()]
    controls = [control for index in cells for control in notebook.controls(index)]
    assert controls, "no widget controls rendered"
    assert [control for control in controls if not control.name] == []


def test_images_and_charts_have_alt_text(module: OpenModule) -> None:
    """Every image and chart in markdown and outputs has alt text."""
    assert module.notebook.images_without_alt() == []


def test_headings_do_not_skip_levels(module: OpenModule) -> None:
    """Markdown and widget headings, in page order, start at h1 and never skip a level."""
    rendered = sum(heading["markdown"] for heading in module.notebook.headings())
    assert rendered == module.plan.markdown_headings, "not every markdown heading was rendered"
    assert module.notebook.heading_problems() == []


@SHARED_MACHINERY
def test_accessibility_checks_catch_planted_defects(module: OpenModule) -> None:
    """A nameless button, an image without alt text and a skipped heading level are reported."""
    notebook, index = module.notebook, module.plan.widgets[0]
    with notebook.planted(index, '<h6>Planted</h6><img src="data:,"><button></button>'):
        assert [control.name for control in notebook.controls(index)].count("") == 1
        assert notebook.images_without_alt() == [f"cell {index}"]
        assert any("'Planted'" in problem for problem in notebook.heading_problems())


def test_scenario_whose_feedback_never_appears_fails(lab: Lab) -> None:
    """The walk catches a broken widget: Choose does nothing in a served, patched copy."""
    plans = {m: plan_notebook(REPO.module_notebook(REPO.release, m)) for m in COMPLETE_MODULES}
    module_id = max(plans, key=lambda m: (bool(plans[m].scenarios), bool(plans[m].widgets)))
    mutant = f"broken-{module_id}"
    shutil.copytree(REPO.release / module_id, lab.served / mutant)
    path = lab.served / mutant / f"{module_id}.ipynb"
    notebook_node: Any = nbformat.read(path, as_version=4)
    notebook_node.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import digiready.student.scenario_view\n"
            "digiready.student.scenario_view.ScenarioView._on_choose = "
            "lambda self, _button=None: None"
        ),
    )
    nbformat.write(notebook_node, path)
    plan = plan_notebook(path)
    with lab.open(f"{mutant}/{path.name}", mutant) as notebook:
        for index in plan.code:
            if index <= plan.keyboard_walk:
                assert notebook.run_cell(index)
        with pytest.raises(AssertionError, match="You chose"):
            notebook.walk(plan.keyboard_walk, "broken", timeout=MUTANT_TIMEOUT_MS)


# --- issue 12: what a student who has never coded does ----------------------------------------


def expect(target: Any) -> Any:
    """Playwright's expect, imported only once the browser tests can run (see the fixtures)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@SHARED_MACHINERY
def test_students_lab_has_no_instructor_tools(module: OpenModule) -> None:
    """Part 5: no Nbgrader menu, Formgrader, Create Assignment or Course List, and no "Error
    fetching courses!"; the Validate button stays."""
    page = module.notebook.page
    expect(page.get_by_role("button", name="Validate").first).to_be_visible()
    expect(page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True)).to_have_count(0)
    for text in ("Formgrader", "Create Assignment", "Course List", "Error fetching courses!"):
        expect(page.get_by_text(text)).to_have_count(0)
    module.notebook.screenshot("student-lab-menus")


@SHARED_MACHINERY
def test_letter_answer_mistakes_get_guidance_and_the_check_reads_the_cell_now(
    module: OpenModule,
) -> None:
    """Parts 3 and 4, typed key by key: after a right-form answer, each beginner's mistake shows
    one sentence naming the question, and the check then says to fix the answer cell instead
    of checking the value left from the earlier run."""
    notebook, index = module.notebook, module.plan.letter_answer
    variable, question = NotebookPlan.variable_of(nbformat.read(
        REPO.module_notebook(REPO.release, module.module_id), as_version=4).cells[index].source)
    assert notebook.type_and_run(index, f'{variable} = "b"') == ""
    assert "right form" in notebook.run_next(index + 1)
    mistakes = {
        f"{variable} = b": f'Question {question}: did you put your answer in quotes, like "b"?',
        f"{variable} = 78%": f"Question {question}: write a plain number without the % sign",
        f"{variable} = \u201cb\u201d": f"Question {question}: your answer has curly quotes",
        f'{variable} = "b': f"Question {question}: is a closing quote missing?",
    }
    for number, (typed, guidance) in enumerate(mistakes.items(), start=1):
        shown = notebook.type_and_run(index, typed)
        assert guidance in shown
        assert_plain(shown)
        checked = notebook.run_next(index + 1)
        notebook.screenshot(f"mistake-{number}", index)
        assert f"Question {question}: your answer cell has an error: fix it first" in checked
        assert "right form" not in checked and "not answered" not in checked
        assert_plain(checked)
    notebook.type_and_run(index, f'{variable} = "b"')
    assert "right form" in notebook.run_next(index + 1)


def test_data_mistakes_get_guidance(module: OpenModule) -> None:
    """Part 3: a misspelt column lists the real ones; `and` between pandas conditions is
    turned into "write &"."""
    from digiready.student.datasets import load

    if module.plan.number_answer is None or module.plan.table is None:
        pytest.skip(f"{module.module_id} has no data item")
    notebook, index = module.notebook, module.plan.number_answer
    variable, question = NotebookPlan.variable_of(nbformat.read(
        REPO.module_notebook(REPO.release, module.module_id), as_version=4).cells[index].source)
    table, dataset = module.plan.table
    column = str(load(dataset).columns[1])
    shown = notebook.type_and_run(index, f'{variable} = len({table}["{column[:-1]}"])')
    assert f'Question {question}: {table} has no column "{column[:-1]}". Did you mean ' \
        f'"{column}"? Its columns are:' in shown
    assert_plain(shown)
    condition = f'({table}["{column}"] == "x")'
    shown = notebook.type_and_run(index, f"{variable} = len({table}[{condition} and {condition}])")
    assert f"Question {question}: between two conditions write &" in shown
    assert_plain(shown)
    notebook.screenshot("data-mistake", index)


@SHARED_MACHINERY
def test_validate_shows_the_guidance_whole(module: OpenModule) -> None:
    """Part 2: nbgrader's Validate dialog shows each failing check's guidance whole: no line
    runs past the dialog's edge, and no traceback."""
    page = module.notebook.page
    module.notebook.save()
    page.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("The following cell failed", timeout=120_000)
    module.notebook.screenshot("validate")
    shown = " ".join(dialog.inner_text().split())
    assert re.search(r"(Question [\d.]+|Self-audit|CPD plan): [^.]+\.", shown)
    assert_plain(shown.replace('"""', ""))
    cut = dialog.locator("pre").evaluate_all(
        "blocks => blocks.filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.innerText)")
    assert cut == []
    dialog.get_by_role("button").last.click()
    expect(dialog).to_have_count(0)


def reflection_words(module_id: str, count: int = 250) -> str:
    """A reflection of `count` words with a unique opening, as a student would write it."""
    sentence = ("When I assess a person I ask what they do online, who they talk to and what "
                "they would miss, and I record the benefits as well as the risks. ")
    words = (sentence * (count // len(sentence.split()) + 1)).split()
    return f"My reflection on {module_id}: " + " ".join(words[: count - 4])


@pytest.fixture(scope="module")
def course_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course root with both modules released into a gradebook, for grading and formgrader."""
    from digiready.grading.autograde import prepare_course

    root = tmp_path_factory.mktemp("graded") / "course"
    prepare_course(REPO, COMPLETE_MODULES, root)
    return root


@pytest.fixture(scope="module")
def author_lab(
    lab: Lab, course_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """The lecturer's JupyterLab on the course root: nbgrader's formgrader included."""
    from browser_harness import Lab

    author = Lab(course_root, tmp_path_factory.mktemp("author"), Path(CHROMIUM),
                 lab.screenshots / "author", student=False, cwd=course_root, browser_of=lab)
    try:
        yield author
    finally:
        author.close()
    assert author.still_running() == []


@SHARED_MACHINERY
def test_reflection_written_as_instructed_reaches_the_marker(
    module: OpenModule, course_root: Path, author_lab: Lab
) -> None:
    """Part 1: click the reflection, press Enter, type 250 words, Shift+Enter, save; graded, the
    words are in formgrader's manual-grading view of the submission."""
    from nbgrader.api import Gradebook

    from digiready.grading.autograde import autograde, submit

    notebook, index = module.notebook, module.plan.written[0]
    words = reflection_words(module.module_id)
    notebook.write_in_text_cell(index, words)
    notebook.screenshot("reflection-written", index)
    notebook.save()
    saved = nbformat.read(notebook.path, as_version=4).cells[index]
    assert saved.cell_type == "markdown" and saved.source == words
    submit(course_root, module.module_id, STUDENT, notebook.path)
    autograde(course_root, module.module_id, [STUDENT])
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(
            module.module_id, module.module_id, STUDENT).id
    with author_lab.tab(f"formgrader/submissions/{submission}/") as page:
        expect(page.get_by_text(words[:80])).to_be_visible()
        page.screenshot(path=str(author_lab.screenshots / f"{module.module_id}-formgrader.png"))
        shown = " ".join(page.locator("body").inner_text().split())
    assert words in shown


def test_authors_lab_keeps_the_instructor_tools(author_lab: Lab) -> None:
    """`digiready lab --folder course` (authors) keeps nbgrader's menu: the student test above
    would see it."""
    with author_lab.tab("lab") as page:
        page.wait_for_function("() => !!document.querySelector('#jp-MainMenu')",
                               timeout=90_000)
        expect(page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True)).to_have_count(1)


@SHARED_MACHINERY
def test_long_code_lines_wrap(module: OpenModule) -> None:
    """Part 7: a long line in a code cell wraps instead of running off the screen."""
    editor = module.notebook.cell(module.plan.setup).locator(".cm-content")
    expect(editor).to_have_class(re.compile(r"\bcm-lineWrapping\b"))


# --- issues 11 and 12, part 6: keyboard and screen-reader use of the widgets -----------------

MIN_OUTLINE_CONTRAST = 3.0
MIN_OUTLINE_PX = 2.0
LONG_STORY = "long-story"


def _rgb(colour: str) -> tuple[float, float, float, float]:
    """(red, green, blue, alpha) from a computed CSS colour such as "rgba(13, 71, 161, 0.5)"."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
    assert colour.startswith("rgb") and len(numbers) in (3, 4), colour
    return numbers[0], numbers[1], numbers[2], numbers[3] if len(numbers) == 4 else 1.0


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of a (possibly translucent) colour over an opaque background."""
    *front, alpha = _rgb(foreground)
    back = _rgb(background)[:3]
    seen = [alpha * f + (1 - alpha) * b for f, b in zip(front, back, strict=True)]

    def luminance(rgb: list[float] | tuple[float, ...]) -> float:
        linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
                  for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(seen), luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_ratio_matches_wcag() -> None:
    assert round(contrast_ratio("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert round(contrast_ratio("rgb(118, 118, 118)", "rgb(255, 255, 255)"), 2) == 4.54
    assert contrast_ratio("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)") == 1.0


def assert_visible_focus(outline: dict[str, Any], what: str) -> None:
    """A solid outline at least 2 px wide with 3:1 contrast against what is behind it, not cut
    off by the widget around it."""
    ratio = contrast_ratio(outline["colour"], outline["background"])
    assert outline["clippedBy"] == [], (what, outline)
    assert outline["style"] not in ("none", "hidden") and outline["width"] >= MIN_OUTLINE_PX, (
        what, outline)
    assert ratio >= MIN_OUTLINE_CONTRAST, (what, round(ratio, 2), outline)


@SHARED_MACHINERY
def test_options_are_one_radio_group_named_by_the_question(module: OpenModule) -> None:
    """Issue 12 part 6, issue 11 part 6: in Chromium's accessibility tree each widget's options
    are radio buttons in one radio group whose name is the step's question, so a screen reader
    says e.g. "What do you do first? radio group ... radio button, 1 of 3" (the walk checks
    the same at every step after Continue)."""
    notebook = module.notebook
    for index in module.plan.widgets:
        notebook.scroll_to(index)
        widget = notebook.scenario(index)
        name, radios = notebook.radio_group(widget)
        assert name and name == " ".join(widget.question.inner_text().split()), (index, name)
        assert radios == widget.option_labels(), index
        assert not widget.root.locator(".widget-radio > .widget-label:visible").count(), (
            "a label beside the options that names nothing")


@SHARED_MACHINERY
def test_focus_outline_is_visible_with_3_to_1_contrast(module: OpenModule) -> None:
    """Issue 12 and 11 part 6: reached with Tab as the how-to says, an option, the Choose
    button and (in the self-audit) a dropdown show an outline of at least 2 px whose colour has
    a contrast of at least 3:1 with the cell behind it, measured in the page."""
    notebook, index = module.notebook, module.plan.keyboard_walk
    widget = notebook.scenario(index)
    notebook.restart(widget)
    notebook.focus_cell(index)
    first = widget.options.first
    notebook.tab_to(first, "Tab")
    assert_visible_focus(notebook.focus_outline(first), "option")
    notebook.screenshot("focus-outline-option", first)
    choose = widget.button("Choose")
    notebook.tab_to(choose, "Tab")
    assert_visible_focus(notebook.focus_outline(choose), "Choose button")
    notebook.screenshot("focus-outline", choose)
    for form in module.plan.forms:
        notebook.scroll_to(form)
        notebook.focus_cell(form)
        dropdown = notebook.cell(form).locator("select").first
        notebook.tab_to(dropdown, "Tab", limit=30)
        assert_visible_focus(notebook.focus_outline(dropdown), "dropdown")
        notebook.screenshot("focus-outline-dropdown", dropdown)


def test_self_audit_dropdowns_are_named_with_their_capability(module: OpenModule) -> None:
    """Issue 11 part 6: each of the 26 dropdowns (13 capabilities) has an accessible name with
    its capability, e.g. "Meeting professional standards: Level now"."""
    if not module.plan.forms:
        pytest.skip(f"{module.module_id} has no self-audit form")
    titles = [capability.title for capability in course_curriculum(REPO.root).capabilities]
    expected = [f"{title}: {level}" for title in titles
                for level in ("Level now", "Level needed for my role")]
    (form,) = module.plan.forms
    names = [c.name for c in module.notebook.controls(form) if c.role == "combobox"]
    assert names == expected and len(names) == 26


def test_self_audit_form_by_keyboard_as_instructed(module: OpenModule) -> None:
    """Issue 11 part 6, as the form's instructions say: Tab to each dropdown, Space to open its
    list, the arrow keys to pick a level, Enter to confirm; Tab to the button and Enter. The
    notebook's cells and mode do not change."""
    if not module.plan.forms:
        pytest.skip(f"{module.module_id} has no self-audit form")
    notebook, (form,) = module.notebook, module.plan.forms
    page = notebook.page
    cell = notebook.cell(form)
    notebook.scroll_to(form)
    notebook.focus_cell(form)
    before = notebook.notebook_state()
    dropdowns = cell.locator("select")
    for number, presses in ((0, 2), (1, 3)):
        notebook.tab_to(dropdowns.nth(number), "Tab", limit=30)
        page.keyboard.press("Space")
        for _ in range(presses):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(dropdowns.nth(number)).to_be_focused()
    # ipywidgets shows option labels with no-break spaces: compare the words.
    assert [" ".join(dropdowns.nth(n).evaluate("e => e.selectedOptions[0].text").split())
            for n in (0, 1)] == [
        "2 – Able to use", "3 – Confident and capable user"]
    button = cell.locator("button.widget-button", has_text="Create my answer")
    notebook.tab_to(button, "Tab", limit=40)
    page.keyboard.press("Enter")
    answer = cell.locator("pre")
    expect(answer).to_contain_text('"purpose.professional_standards": (2, 3),')
    notebook.screenshot("self-audit-by-keyboard", answer)
    assert notebook.notebook_state() == before, "using the form changed the notebook"


LONG_SCENARIO = {
    "id": "long-story",
    "title": "A long story",
    "steps": [
        {"id": "one", "text": "A short start.", "question": "Which way?",
         "choices": [{"label": "Go on", "feedback": "Fine.\n\n" + "Said at length. " * 120,
                      "next": "two", "recommended": True},
                     {"label": "Go on too", "feedback": "Also fine.", "next": "two"}]},
        {"id": "two",
         "text": "\n\n".join(f"Paragraph {n} of what happened next. " * 6 for n in range(1, 9)),
         "question": "And then?",
         "choices": [{"label": "Stop here", "feedback": "The end.", "recommended": True},
                     {"label": "Stop there", "feedback": "The end too."}]},
    ],
    "debrief": {"summary": "s", "principle": "p", "law": "l", "capability": "c"},
}


def test_new_story_is_scrolled_into_view_after_continue(lab: Lab) -> None:
    """Issue 12 part 6: a keyboard user presses Continue below a long feedback; the next step's
    story (eight paragraphs) starts in view, not above it, and the focus is on Choose."""
    import yaml

    folder = lab.served / LONG_STORY
    folder.mkdir(exist_ok=True)
    (folder / "long.yml").write_text(yaml.safe_dump(LONG_SCENARIO), encoding="utf-8")
    cells = [nbformat.v4.new_code_cell(
        'from digiready.student.scenario_view import show_scenario\nshow_scenario("long.yml")')]
    node: Any = nbformat.v4.new_notebook(cells=cells)
    node.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                   "language": "python", "name": "python3"}
    nbformat.write(node, folder / "long.ipynb")
    with lab.open(f"{LONG_STORY}/long.ipynb", LONG_STORY) as notebook:
        assert notebook.run_cell(0)
        widget = notebook.scenario(0)
        notebook.focus_cell(0)
        page = notebook.page
        notebook.tab_to(widget.options.first, "Tab")
        page.keyboard.press("Space")
        notebook.tab_to(widget.button("Choose"), "Tab")
        page.keyboard.press("Enter")
        expect(widget.button("Continue")).to_be_focused()
        page.keyboard.press("Enter")
        expect(widget.story).to_contain_text("Paragraph 8")
        expect(widget.button("Choose")).to_be_focused()
        notebook.screenshot("story-after-continue")
        notebook.expect_top_in_view(widget.story)
