"""A beginner's mistakes, typed into a real kernel, get one sentence of guidance naming the
question, never a traceback; checks read what the answer cell says now (issue 12, parts 2-4, 7).

Each test starts a kernel, runs the setup a module's setup cell runs, then the cells a student
runs, and reads the outputs as JupyterLab and nbgrader receive them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from nbgrader.utils import determine_grade

from digiready import authoring as a
from kernel_harness import Kernel

SETUP = """
from digiready.answer_format import (
    check_counts, check_letter, check_letters, check_matches, check_number, check_order,
)
from digiready.curriculum import course_curriculum
from digiready.datasets import load
from digiready.self_audit import check_cpd_plan
try:
    from digiready.student_help import install
except ImportError:  # before issue 12
    install = print
install()
curriculum = course_curriculum()
referrals = load("referrals")
"""
CPD_ENTRY = '{"capability": "practice.online_safeguarding", "action": "Read", "evidence": "A note"}'
TRACEBACK_SIGNS = ("Traceback", "Cell In[", "File ", "skipping hidden frames", "Error:")


@pytest.fixture
def kernel(tmp_path: Any) -> Iterator[Kernel]:
    started = Kernel(tmp_path)
    setup = started.run(SETUP)
    assert [o for o in setup if o.output_type == "error"] == [], setup
    yield started
    started.close()


def shown(outputs: list[Any]) -> str:
    """What JupyterLab shows for these outputs: stream text and each error's traceback."""
    parts = []
    for output in outputs:
        if output.output_type == "error":
            parts.append("\n".join(output.traceback))
        else:
            parts.append(str(output.get("text", "")))
    return "\n".join(parts)


def guidance_of(outputs: list[Any]) -> str:
    """The one error output's text, checked to be plain guidance and never on stderr."""
    errors = [output for output in outputs if output.output_type == "error"]
    assert len(errors) == 1, outputs
    assert [o for o in outputs if o.get("name") == "stderr"] == []
    text = " ".join("\n".join(errors[0].traceback).split())
    assert not any(sign in text for sign in TRACEBACK_SIGNS), text
    assert all(len(line) <= 87 for line in errors[0].traceback), errors[0].traceback
    return text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("answer_2_1 = b", 'Question 2.1: did you put your answer in quotes, like "b"?'),
        ("answer_2_1 = 78%", "Question 2.1: write a plain number without the % sign"),
        ("answer_2_1 = about 78 percent", "Question 2.1: Python cannot read line 1"),
        ("answer_2_3 = \u201cb\u201d", "Question 2.3: your answer has curly quotes"),
        ('answer_3_1 = {"A": "s47" "B": "s42"}', "Question 3.1: is a comma missing?"),
        ('answer_2_1 = "b', "Question 2.1: is a closing quote missing?"),
        (
            'answer_5_2 = len(referrals[(referrals["person_group"] == "adult") and '
            '(referrals["four_cs"] == "contact")])',
            "Question 5.2: between two conditions write & (for 'and')",
        ),
        (
            'answer_5_2 = len(referrals[referrals["person_group"] == "adult" & '
            'referrals["four_cs"] == "contact"])',
            "Question 5.2: is each condition in its own round brackets?",
        ),
        (
            'answer_5_1 = referrals["four_c"].value_counts()',
            'Question 5.1: referrals has no column "four_c". Did you mean "four_cs"? Its '
            "columns are: referral_id,",
        ),
        ('answer_5_2 = len(referals[referals["four_cs"] == "contact"])',
         "Question 5.2: is 'referals' spelt right?"),
    ],
)
def test_a_beginners_mistake_gets_one_sentence_naming_the_question(
    kernel: Kernel, typed: str, expected: str
) -> None:
    assert expected in guidance_of(kernel.run(typed))


def test_the_check_says_the_answer_cell_has_an_error_not_unanswered(kernel: Kernel) -> None:
    """A letter without quotes, then the check: "fix it first", and nbgrader scores it 0."""
    kernel.run("answer_2_1 = b")
    test_cell = a.test(
        "m00_q2_1_test", 'check_letter(answer_2_1, "abcd", "2.1")', 2, "purpose.x", 1
    )
    test_cell.outputs = kernel.run(test_cell.source)
    text = guidance_of(test_cell.outputs)
    assert "Question 2.1: your answer cell has an error: fix it first" in text
    assert "not answered" not in text
    assert determine_grade(nbformat.from_dict(dict(test_cell)))[0] == 0


def test_a_check_run_before_its_answer_cell_says_run_it_first(kernel: Kernel) -> None:
    text = guidance_of(kernel.run('check_letter(answer_4_4, "abcd", "4.4")'))
    assert "Question 4.4: there is no answer yet. Run your answer cell first" in text


def test_a_failed_check_is_one_plain_message(kernel: Kernel) -> None:
    """Part 2: the guidance is the whole output, still an error for nbgrader."""
    kernel.run("answer_2_1 = 5")
    text = guidance_of(kernel.run('check_letter(answer_2_1, "abcd", "2.1")'))
    assert text == 'Question 2.1: did you put the letter in quotes, like "a"?'


@pytest.mark.parametrize(
    ("answer", "check"),
    [
        ('answer_2_1 = "b"', 'check_letter(answer_2_1, "abcd", "2.1")'),
        (f"cpd_plan = [{CPD_ENTRY}, {CPD_ENTRY}, {CPD_ENTRY}]",
         "check_cpd_plan(cpd_plan, curriculum)"),
    ],
)
def test_the_check_reads_the_answer_cell_now_not_an_earlier_run(
    kernel: Kernel, answer: str, check: str
) -> None:
    """Part 4: a good answer passes; then the cell is broken (a missing closing bracket or
    quote) and run: the check no longer passes on the value left in memory."""
    kernel.run(answer)
    assert "right form" in shown(kernel.run(check))
    broken = answer[:-1]
    kernel.run(broken)
    text = guidance_of(kernel.run(check))
    assert "your answer cell has an error: fix it first" in text
    kernel.run(answer)
    assert "right form" in shown(kernel.run(check))


@pytest.mark.parametrize(
    ("answer", "check", "expected"),
    [
        ('answer_4_2 = ["c" "d", "e", "a", "b"]', 'check_order(answer_4_2, "abcde", "4.2")',
         'Question 4.2: did you put a comma between the letters, like ["c", "d"]?'),
        ('answer_4_1 = {"a" "b"}', 'check_letters(answer_4_1, "abcdef", "4.1")',
         'Question 4.1: did you put a comma between the letters, like {"a", "b"}?'),
    ],
)
def test_a_missing_comma_between_letters_is_named(
    kernel: Kernel, answer: str, check: str, expected: str
) -> None:
    kernel.run(answer)
    assert expected in guidance_of(kernel.run(check))


def test_the_value_counts_hint_does_not_say_filter_to_a_student_who_filtered(
    kernel: Kernel,
) -> None:
    """Part 7: counting the wrong column after a filter is not "did you filter first?"."""
    kernel.run('answer_5_1 = referrals[referrals["online_element"] == "yes"]'
               '["person_group"].value_counts()')
    text = guidance_of(kernel.run(
        'check_counts(answer_5_1, ["content", "contact", "conduct", "contract"], "5.1")'
    ))
    assert "filter" not in text
    assert "column" in text
    kernel.run('answer_5_1 = referrals["four_cs"].value_counts()')
    text = guidance_of(kernel.run(
        'check_counts(answer_5_1, ["content", "contact", "conduct", "contract"], "5.1")'
    ))
    assert "filter" in text


def test_errors_we_do_not_recognise_keep_their_traceback(kernel: Kernel) -> None:
    outputs = kernel.run("1 / 0")
    assert "ZeroDivisionError" in shown(outputs)
    outputs = kernel.run("[1, 2][5]")
    assert "IndexError" in shown(outputs)


def test_setup_prints_one_ready_line(tmp_path: Any) -> None:
    started = Kernel(tmp_path)
    try:
        outputs = started.run(SETUP)
    finally:
        started.close()
    assert shown(outputs).strip().startswith("Ready:")
    assert len(shown(outputs).strip().splitlines()) == 1


def test_practice_feedback_never_says_the_verdict_twice() -> None:
    """Part 7: "Right: ..." feedback on the correct option is not shown as "Yes. Right: ..."."""
    from digiready.practice import practice_question

    view = practice_question("Q?", {"a": "Right: because.", "b": "No, it is not."}, correct="a")
    feedback = [choice.feedback for choice in view.scenario.steps[0].choices]
    assert feedback == ["**Yes.** Because.", "**Not quite.** It is not."]


@pytest.mark.parametrize("module", ["00-self-audit", "01-professional-standards", "09-online-safeguarding"])
def test_modules_use_the_shared_instructions_and_install_the_help(module: str) -> None:
    """Part 1 and 7: one how-to and one reflection instruction for every module, and a setup
    cell that installs the guidance; the chart code is folded away."""
    from conftest import REPO
    from digiready.authoring import HOW_TO, REFLECTION_HOW_TO

    cells = nbformat.read(REPO.module_notebook(REPO.source, module), as_version=4).cells
    sources = [cell.source for cell in cells]
    assert any(HOW_TO in source for source in sources)
    written = [i for i, c in enumerate(cells) if c.cell_type == "markdown"
               and c.metadata.get("nbgrader", {}).get("solution")]
    assert written and all(REFLECTION_HOW_TO in cells[i - 1].source for i in written)
    assert any("install_help(" in source for source in sources)
    charts = [c for c in cells if c.cell_type == "code" and "show_figure(" in c.source]
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in charts)
