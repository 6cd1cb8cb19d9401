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

import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from markdown_it import MarkdownIt

from conftest import REPO, SCREENSHOTS
from digiready.curriculum import course_curriculum

if TYPE_CHECKING:
    from browser_harness import Lab, StudentNotebook

pytestmark = pytest.mark.browser

MODULES = [module.id for module in course_curriculum(REPO.root).complete_modules]
CHROMIUM = os.environ.get("DIGIREADY_CHROMIUM", "/usr/bin/chromium")
ANSWER = re.compile(r"^(answer_(\d+)_(\d+)) = \.\.\.$", re.MULTILINE)
WRONG_ANSWER = '"not sure"'
MUTANT_TIMEOUT_MS = 3_000


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
    )


def missing_requirement() -> str | None:
    """Why the browser tests cannot run here, with how to fix it; None when they can."""
    if os.name != "posix":
        return "browser tests use POSIX process groups: run them on Linux or macOS"
    missing = [
        what
        for what, absent in (
            (f"Chromium (looked for {CHROMIUM!r})", shutil.which(CHROMIUM) is None),
            ("Playwright", importlib.util.find_spec("playwright") is None),
        )
        if absent
    ]
    if not missing:
        return None
    return (
        f"browser tests need {' and '.join(missing)}: install Chromium with "
        "`sudo apt-get install chromium` (or set DIGIREADY_CHROMIUM to a Chromium or Chrome "
        "executable) and Playwright with `pip install playwright` (or `pip install -e '.[test]'`); "
        "Playwright's own browser download (`playwright install`) is not needed"
    )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """One JupyterLab server and one Chromium for the session, serving copies of the releases."""
    reason = missing_requirement()
    if reason and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is set: {reason}")
    if reason:
        pytest.skip(reason)
    from browser_harness import Lab

    screenshots = request.config.getoption("--browser-screenshots") or (
        tmp_path_factory.getbasetemp() / "browser-screenshots"
    )
    request.config.stash[SCREENSHOTS] = screenshots
    served = tmp_path_factory.mktemp("served")
    for module in MODULES:
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

    plan: NotebookPlan
    notebook: StudentNotebook
    succeeded: dict[int, bool]


@pytest.fixture(scope="session", params=MODULES)
def module(request: pytest.FixtureRequest, lab: Lab) -> Iterator[OpenModule]:
    module_id: str = request.param
    notebook_path = f"{module_id}/{module_id}.ipynb"
    plan = plan_notebook(lab.served / notebook_path)
    with lab.open(notebook_path, module_id) as notebook:
        notebook.assert_no_dialog()
        notebook.screenshot("opened")
        succeeded = {index: notebook.run_cell(index) for index in plan.code}
        notebook.screenshot("ran-every-cell", plan.code[-1])
        yield OpenModule(plan, notebook, succeeded)


def test_every_cell_runs_and_unanswered_checks_guide(module: OpenModule) -> None:
    """Only the visible checks fail on the release, each saying how to answer."""
    failed = [index for index, ok in module.succeeded.items() if not ok]
    assert failed == module.plan.checks
    for index in module.plan.checks:
        shown = module.notebook.output_text(index)
        assert re.search(r"AnswerFormatError: .*not answered yet", shown), (index, shown)


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


def test_practice_item_gives_feedback_on_every_option(module: OpenModule) -> None:
    """Each option of the first practice item earns a verdict in words; one is right."""
    feedback = module.notebook.try_each_option(module.plan.practice[0])
    assert all(re.search(r"Yes\.|Not quite\.", text) for text in feedback), feedback
    assert sum("Yes." in text for text in feedback) == 1, feedback


def test_graded_item_check_guides_a_wrong_answer_and_saves(module: OpenModule) -> None:
    """Typed into the answer cell, a wrong answer gets a guiding question; Ctrl+S saves it."""
    notebook, plan = module.notebook, module.plan
    typed = f"{plan.variable} = {WRONG_ANSWER}"
    shown = notebook.answer_and_check(plan.answer, typed)
    notebook.screenshot("graded-item-checked", plan.answer)
    assert re.search(rf"AnswerFormatError: Question {re.escape(plan.question)}: [^?]+\?", shown)
    assert "not answered yet" not in shown
    notebook.save()
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


def test_accessibility_checks_catch_planted_defects(module: OpenModule) -> None:
    """A nameless button, an image without alt text and a skipped heading level are reported."""
    notebook, index = module.notebook, module.plan.widgets[0]
    with notebook.planted(index, '<h6>Planted</h6><img src="data:,"><button></button>'):
        assert [control.name for control in notebook.controls(index)].count("") == 1
        assert notebook.images_without_alt() == [f"cell {index}"]
        assert any("'Planted'" in problem for problem in notebook.heading_problems())


def test_scenario_whose_feedback_never_appears_fails(lab: Lab) -> None:
    """The walk catches a broken widget: Choose does nothing in a served, patched copy."""
    plans = {m: plan_notebook(REPO.module_notebook(REPO.release, m)) for m in MODULES}
    module_id = max(plans, key=lambda m: (bool(plans[m].scenarios), bool(plans[m].widgets)))
    mutant = f"broken-{module_id}"
    shutil.copytree(REPO.release / module_id, lab.served / mutant)
    path = lab.served / mutant / f"{module_id}.ipynb"
    notebook_node: Any = nbformat.read(path, as_version=4)
    notebook_node.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import digiready.scenario_view\n"
            "digiready.scenario_view.ScenarioView._on_choose = lambda self, _button=None: None"
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
