"""Small nbgrader preprocessors, named in `nbgrader_config.py`.

- `ClearAnswers` releases `answer_1_2 = ...` where the solution is one assignment, instead of
  nbgrader's `raise NotImplementedError()`, so the student sees which name to fill in.
- `SanitiseStudentContent` (autograde, after execution) escapes HTML in markdown a student could
  edit and keeps only safe output types, so nothing a student wrote or their code displayed runs
  as script in formgrader or feedback (see `digiready.grading.safe_notebook`).
- `RecoverWrittenAnswers` (autograde's sanitize step, before OverwriteCells) turns a written
  answer that became a code cell back into text and moves into it the words a student typed into
  cells added next to it, noting what it did for the marker (see
  `digiready.grading.written_answers`).
- `StripTestTracebacks` (feedback only) keeps the last line of an error in a test cell and drops
  the traceback, whose frames would show the lines of hidden tests.
- `FeedbackResults` (feedback only, after GetGrades) replaces every output of a graded test cell
  by the score in our words, drops the outputs of cells run after the first test (they could
  carry the hidden tests, which ran in the student's kernel) and sanitises the rest again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from digiready.grading.safe_notebook import already_sanitised, record_notes, sanitise_notebook
from digiready.grading.written_answers import record_recovery, recover_written_answers

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]")


def single_assignment_target(source: str, begin: str, end: str) -> str | None:
    """The variable name when the solution region holds one assignment (and comments), else None."""
    lines = source.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if begin in line)
        stop = next(i for i, line in enumerate(lines) if end in line)
    except StopIteration:
        return None
    body = [
        line
        for line in lines[start + 1 : stop]
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not body:
        return None
    match = _ASSIGNMENT.match(body[0])
    continuation = all(line.startswith((" ", "\t", ")", "]", "}")) for line in body[1:])
    return match.group(1) if match and continuation else None


class ClearAnswers(ClearSolutions):  # type: ignore[misc]
    """ClearSolutions that leaves `name = ...` in place of a one-assignment solution."""

    def _replace_solution_region(self, cell: Any, language: str) -> bool:
        name = None
        if cell.cell_type == "code":
            name = single_assignment_target(
                cell.source, self.begin_solution_delimeter, self.end_solution_delimeter
            )
        if name is None:
            return bool(super()._replace_solution_region(cell, language))
        original: dict[str, str] = dict(getattr(self, "code_stub"))  # noqa: B009 (a traitlet)
        self.code_stub = {**original, language: f"{name} = ..."}
        try:
            return bool(super()._replace_solution_region(cell, language))
        finally:
            self.code_stub = original


class RecoverWrittenAnswers(NbGraderPreprocessor):  # type: ignore[misc]
    """Put a student's written answers back in their text cells before nbgrader restores the
    module's cells; record what was done in the notebook's metadata."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        from nbgrader.api import Gradebook

        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(ids["notebook"], ids["assignment"])
            solutions = {cell.name for cell in notebook.solution_cells}
            written = {
                cell.name: str(cell.source)
                for cell in notebook.source_cells
                if cell.cell_type == "markdown" and cell.name in solutions
            }
        record_recovery(nb, recover_written_answers(nb, written))
        return nb, resources


class StripTestTracebacks(NbGraderPreprocessor):  # type: ignore[misc]
    """In graded test cells, replace each error's traceback by its last line."""

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], cell_index: int
    ) -> tuple[Any, dict[str, Any]]:
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    ]
        return cell, resources


class SanitiseStudentContent(NbGraderPreprocessor):  # type: ignore[misc]
    """Make the autograded notebook safe for formgrader and feedback; record what was found."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        record_notes(nb, sanitise_notebook(nb))
        return nb, resources


_QUESTION = re.compile(r"q(\d+(?:_\d+)*)", re.IGNORECASE)
AFTER_TESTS_NOTE = (
    "[Output from grading not shown: it was produced after the tests had run. "
    "Run the cell yourself to see it.]\n"
)


_MODULE_PREFIX = re.compile(r"^m\d+_")


def question_label(grade_id: str) -> str:
    """"Question 1.1" for `m09_q1_1_test`; "Self audit" for `m00_self_audit_test`."""
    match = _QUESTION.fullmatch(_MODULE_PREFIX.sub("", grade_id).removesuffix("_test"))
    if match:
        return f"Question {match[1].replace('_', '.')}"
    words = _MODULE_PREFIX.sub("", grade_id).removesuffix("_test").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else grade_id


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def result_text(grade_id: str, score: Any, points: Any) -> str:
    """'Question 1.1: 2 of 2 points — right' (or partly right, not right, not yet marked)."""
    label = question_label(grade_id)
    if not isinstance(score, int | float) or not isinstance(points, int | float):
        return f"{label}: not yet marked"
    verdict = "right" if score >= points else "partly right" if score > 0 else "not right"
    return f"{label}: {_points(score)} of {_points(points)} points \u2014 {verdict}"


class FeedbackResults(NbGraderPreprocessor):  # type: ignore[misc]
    """In feedback: scores in place of test output, each with the explanation of the right
    answer the author wrote in the master's solution block ("Why: ..."), no output from after
    the first test, and every remaining output (and student markdown, if grading did not
    already) made safe. Explanations come from the trusted master in the course's source
    folder, never from the student's notebook, and never include the hidden tests."""

    def _explanations(self, resources: dict[str, Any]) -> dict[str, str]:
        """The master's explanation of each item's right answer, by test grade id ({} when the
        master cannot be found or read)."""
        from nbgrader.coursedir import CourseDirectory

        from digiready.grading.item_texts import item_texts  # here: item_texts imports this module

        try:
            coursedir = CourseDirectory(config=self.config)
            names = resources["nbgrader"]
            master = (
                Path(coursedir.root) / coursedir.source_directory / str(names["assignment"])
                / f"{names['notebook']}.ipynb"
            )
            notebook = nbformat.read(master, as_version=4)
        except (KeyError, OSError, ValueError):
            return {}
        return {key: text.rationale for key, text in item_texts(notebook).items()}

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        sanitise_notebook(nb, escape=not already_sanitised(nb))
        explanations = self._explanations(resources)
        tests_ran = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_grade(cell) and not is_solution(cell):
                meta = cell.metadata["nbgrader"]
                grade_id = str(meta.get("grade_id", ""))
                text = result_text(grade_id, meta.get("score"), meta.get("points"))
                if explanations.get(grade_id):
                    text += f"\nWhy: {explanations[grade_id]}"
                cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
                tests_ran = True
            elif tests_ran and cell.get("outputs"):
                cell.outputs = [new_output("stream", name="stdout", text=AFTER_TESTS_NOTE)]
        return nb, resources
