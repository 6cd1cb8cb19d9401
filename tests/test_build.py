"""`digiready build`: nbgrader release and solutions, deterministic, no answers in the release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURE, graded_cell
from digiready.authoring.build import build
from digiready.course.paths import CourseLayout
from digiready.grading.nbgrader_ext import single_assignment_target


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for kind in ("assignments", "solutions")
        for p in (root / kind).rglob("*")
        if p.is_file()
    }


def test_build_twice_changes_nothing(built_fixture_course: CourseLayout, tmp_path: Path) -> None:
    copy = CourseLayout(tmp_path / "copy")
    shutil.copytree(
        built_fixture_course.root, copy.root, ignore=shutil.ignore_patterns("gradebook.db")
    )
    before = _snapshot(copy.root)
    build(copy, [FIXTURE])
    assert _snapshot(copy.root) == before


def test_release_has_stubs_and_no_hidden_tests(built_fixture_course: CourseLayout) -> None:
    text = built_fixture_course.module_notebook(built_fixture_course.release, FIXTURE).read_text()
    notebook = json.loads(text)
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert "answer_1_1 = ..." in sources
    assert "answer_1_2 = ..." in sources
    for hidden in ("HIDDEN TESTS", "score_choice", '"b"', "Model answer"):
        assert hidden not in text.replace('"b", 2', "")
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    tags = [cell["metadata"].get("digiready") for cell in notebook["cells"]]
    assert {"capability": "practice.online_safeguarding", "level": 2} in tags


def test_solution_is_executed_with_hidden_tests(built_fixture_course: CourseLayout) -> None:
    notebook = json.loads(
        built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE).read_text()
    )
    test_cell = graded_cell(notebook, "m99_q1_2_test")
    assert "score_choices" in "".join(test_cell["source"])
    assert test_cell["outputs"][-1]["data"]["text/plain"] == ["3.0"]
    assert all("execution" not in c["metadata"] for c in notebook["cells"])


def test_single_assignment_target() -> None:
    begin, end = "BEGIN SOLUTION", "END SOLUTION"
    assert (
        single_assignment_target("### BEGIN SOLUTION\nx_1 = 3\n### END SOLUTION", begin, end)
        == "x_1"
    )
    assert (
        single_assignment_target(
            "# c\n### BEGIN SOLUTION\n# why\nplan = [\n    1,\n]\n### END SOLUTION", begin, end
        )
        == "plan"
    )
    assert (
        single_assignment_target(
            "### BEGIN SOLUTION\nplan = [\n    1,\n]\n### END SOLUTION", begin, end
        )
        == "plan"
    )
    assert (
        single_assignment_target("### BEGIN SOLUTION\nx = 1\ny = 2\n### END SOLUTION", begin, end)
        is None
    )
    assert (
        single_assignment_target("### BEGIN SOLUTION\nx == 1\n### END SOLUTION", begin, end) is None
    )
    assert single_assignment_target("x = 1", begin, end) is None
