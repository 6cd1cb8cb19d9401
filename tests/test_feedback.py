"""Student feedback (nbgrader's generate_feedback, as configured) never shows a hidden test line
or a model answer, for every complete module, including for wrong and blank submissions and for
one whose code prints every cell's source from IPython's pre_run_cell and post_run_cell hooks;
it shows each question's points instead of the test cells' output."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.converters import GenerateFeedback

from conftest import COMPLETE_MODULES, REPO, write_synthetic
from digiready.course.items import nbgrader_meta, read_notebook
from digiready.data.synthetic_cohort import cohort
from digiready.grading.autograde import prepare_course, submit
from digiready.grading.cohort_grading import grade_cohort
from digiready.grading.nbgrader_ext import question_label
from digiready.grading.nbgrader_run import CONFIG_FILE, course_config, run_converter

pytestmark = [pytest.mark.usefixtures("sandbox_available"), pytest.mark.slow]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
PRINT_EVERY_CELL = """def _before(info):
    print(info.raw_cell)
def _after(result):
    print(result.info.raw_cell)
get_ipython().events.register("pre_run_cell", _before)
get_ipython().events.register("post_run_cell", _after)"""


def secret_lines(module: str) -> set[str]:
    """Every substantial line of a hidden test block or a model (written) answer."""
    lines: set[str] = set()
    for cell in read_notebook(REPO.module_notebook(REPO.source, module)).cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            for block in HIDDEN.findall(cell.source):
                lines.update(block.splitlines())
        elif meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
            lines.update(cell.source.splitlines())
    return {line.strip() for line in lines if len(line.strip()) >= 12}


def graded_questions(module: str) -> list[str]:
    """"Question 1.1"-style labels of the module's auto-graded test cells."""
    return [
        question_label(str(nbgrader_meta(cell)["grade_id"]))
        for cell in read_notebook(REPO.module_notebook(REPO.source, module)).cells
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade")
        and not nbgrader_meta(cell).get("solution")
    ]


def submit_hooked(root: Path, module: str) -> None:
    """The release with a first cell that prints every cell's source before and after it runs."""
    notebook = read_notebook(REPO.module_notebook(REPO.release, module))
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PRINT_EVERY_CELL))
    folder = root / "submitted" / "hooked" / module
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{module}.ipynb")


def sources(notebook: Path) -> str:
    """All cell sources of a notebook: what its reader could already see."""
    return "\n".join(cell.source for cell in read_notebook(notebook).cells)


def visible_text(feedback: Path) -> str:
    """The feedback page's text as a student's browser shows it."""
    text = re.sub(r"<[^>]+>", "", feedback.read_text(encoding="utf-8"))
    return html.unescape(text)


@pytest.mark.parametrize("module", COMPLETE_MODULES)
def test_feedback_shows_no_hidden_tests_or_model_answers(module: str, tmp_path: Path) -> None:
    root = tmp_path / "course"
    prepare_course(REPO, [module], root)
    submit(root, module, "untouched", REPO.module_notebook(REPO.release, module))
    weak = [s for s in cohort(8) if s.ability < 0.7][:2]
    write_synthetic(root, module, weak)
    submit_hooked(root, module)
    outcomes = grade_cohort(root, module, workers=2)
    assert all(o.status == "graded" for o in outcomes), outcomes
    config = course_config(root / CONFIG_FILE, root)
    release = sources(REPO.module_notebook(REPO.release, module))
    secrets = {line for line in secret_lines(module) if line not in release}
    assert secrets, "the module has hidden tests to protect"
    for outcome in outcomes:
        run_converter(GenerateFeedback, config, module, outcome.student)
        page = root / "feedback" / outcome.student / module / f"{module}.html"
        own = sources(root / "submitted" / outcome.student / module / f"{module}.ipynb")
        text = visible_text(page)
        leaked = sorted(line for line in secrets if line in text and line not in own)
        assert not leaked, f"{page} shows: {leaked[:3]}"
        assert "most recent call last" not in text, f"{page} shows a traceback"
        for question in graded_questions(module):
            assert re.search(rf"{re.escape(question)}: [\d.]+ of [\d.]+ points", text), question


def test_feedback_command_waits_for_manual_marks_and_explains_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digiready feedback` refuses while a reflection is unmarked (saying how many), then with
    --allow-pending writes feedback where each item says right or not and why, from the
    master's explanation, without a line of the hidden tests."""
    from typer.testing import CliRunner

    from digiready.cli import app
    from digiready.grading.item_texts import item_texts

    module = "09-online-safeguarding"
    root = tmp_path / "course"
    prepare_course(REPO, [module], root)
    shutil.copy(REPO.curriculum, root / "course" / REPO.curriculum.name)
    submit(root, module, "untouched", REPO.module_notebook(REPO.release, module))
    write_synthetic(root, module, cohort(1))  # writes a reflection: a manual mark to enter
    assert all(o.status == "graded" for o in grade_cohort(root, module, workers=2))
    monkeypatch.delenv("DIGIREADY_DB_URL", raising=False)
    monkeypatch.chdir(root)

    refused = CliRunner().invoke(app, ["feedback", module])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "1 manual mark(s) for 1 student(s) still to be entered" in refused.output

    made = CliRunner().invoke(app, ["feedback", module, "--allow-pending"])
    assert made.exit_code == 0, made.output
    text = visible_text(root / "feedback" / "untouched" / module / f"{module}.html")
    master = read_notebook(REPO.module_notebook(REPO.source, module))
    for grade_id, item in item_texts(master).items():
        if item.rationale:
            assert f"{item.label}: 0 of" in text and "not right" in text
            assert f"Why: {item.rationale}" in text, grade_id
    assert not [line for line in secret_lines(module) if line in text]
