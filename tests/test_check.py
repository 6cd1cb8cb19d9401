"""`digiready check`: a clean course passes; each kind of problem is caught and named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURE, fixture_cells, write_fixture_notebook
from digiready import authoring as a
from digiready.course_check import check_course
from digiready.fingerprint import build_fingerprint
from digiready.paths import CourseLayout

SOURCE = (
    "the quick brown fox jumps over the lazy dog while seven wise owls watch "
    "from the old oak tree at the edge of the village green"
)
FINGERPRINT = frozenset(build_fingerprint([SOURCE]))


def _problems(layout: CourseLayout, sync: bool = False) -> list[str]:
    return [str(p) for p in check_course(layout, fingerprint=FINGERPRINT, sync=sync)]


def test_clean_fixture_course_has_no_problems(built_fixture_course: CourseLayout) -> None:
    assert _problems(built_fixture_course, sync=True) == []


def _edit(cells: list[Any], grade_id: str, change: Callable[[Any], None]) -> list[Any]:
    for cell in cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            change(cell)
    return cells


BREAKAGES: dict[str, tuple[Callable[[list[Any]], list[Any]], str]] = {
    "bad nbgrader metadata": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.metadata.nbgrader.pop("points")),
        "nbgrader metadata",
    ),
    "duplicate grade id": (
        lambda cells: _edit(
            cells, "m99_q1_2_test", lambda c: c.metadata.nbgrader.update(grade_id="m99_q1_1_test")
        ),
        "used twice",
    ),
    "untagged capability": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.metadata.pop("digiready")),
        "no known capability",
    ),
    "unknown capability": (
        lambda cells: _edit(
            cells, "m99_q1_1_test", lambda c: c.metadata.digiready.update(capability="x.y")
        ),
        "no known capability ('x.y')",
    ),
    "level out of range": (
        lambda cells: _edit(
            cells, "m99_reflection", lambda c: c.metadata.digiready.update(level=5)
        ),
        "no HEE level 1-4 (5)",
    ),
    "outputs not stripped": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.update(execution_count=3)),
        "outputs are not stripped",
    ),
    "grade id naming": (
        lambda cells: _edit(
            cells, "m99_q1_2", lambda c: c.metadata.nbgrader.update(grade_id="q1_2")
        ),
        "does not follow m99_",
    ),
    "test cell without docstring": (
        lambda cells: _edit(
            cells, "m99_q1_1_test", lambda c: c.update(source=c.source.split("\n", 1)[1])
        ),
        "docstring",
    ),
    "hidden test that is not a scoring call": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.update(source=c.source.replace(
            'score_choice(answer_1_1, "b", 2)', '2 if answer_1_1 == "b" else 0'))),
        "the grader cannot mark this item",
    ),
    "scoring call with a computed argument": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.update(source=c.source.replace(
            '"b", 2)', '"b".lower(), 2)'))),
        "is not a literal",
    ),
    "model answer computed by code": (
        lambda cells: _edit(cells, "m99_q1_1", lambda c: c.update(source=c.source.replace(
            'answer_1_1 = "b"', 'answer_1_1 = "".join(["b"])'))),
        "model answer in m99_q1_1 cannot be marked",
    ),
    "capabilities out of step with curriculum.yml": (
        lambda cells: _edit(cells, "m99_q1_1_test", lambda c: c.metadata.digiready.update(
            capability="practice.law_and_regulation")),
        "misses ones they do (practice.law_and_regulation)",
    ),
    "completion item with a level": (
        lambda cells: _edit(cells, "m99_q1_2_test",
                            lambda c: c.metadata.digiready.update(completion=True)),
        "a completion item also carries other tags (capability, level)",
    ),
    "copied text": (
        lambda cells: cells + [a.text("copied", "As they say, " + SOURCE[:90] + ".")],
        "copied from the sources",
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_each_problem_is_reported(fixture_course: CourseLayout, name: str) -> None:
    breaker, expected = BREAKAGES[name]
    write_fixture_notebook(fixture_course, breaker(fixture_cells()))
    problems = _problems(fixture_course)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(fixture_course.root)) for p in problems)
    assert all("(fix: " in p for p in problems)


def test_folder_not_in_curriculum(fixture_course: CourseLayout) -> None:
    (fixture_course.source / "98-stray").mkdir()
    assert any("98-stray: folder: module folder not listed" in p for p in _problems(fixture_course))


def test_complete_module_without_notebook(fixture_course: CourseLayout) -> None:
    shutil.rmtree(fixture_course.source / FIXTURE)
    assert any("marked complete but has no notebook" in p for p in _problems(fixture_course))


def test_broken_curriculum_is_one_clear_problem(fixture_course: CourseLayout) -> None:
    fixture_course.curriculum.write_text("modules: [oops", encoding="utf-8")
    (problem,) = _problems(fixture_course)
    assert "curriculum.yml" in problem and "cannot read" in problem


def test_unreadable_notebook_is_reported(fixture_course: CourseLayout) -> None:
    fixture_course.module_notebook(fixture_course.source, FIXTURE).write_text("{not json")
    assert any("not a readable notebook" in p for p in _problems(fixture_course))


def test_out_of_sync_release_is_reported(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    copy = CourseLayout(tmp_path / "copy")
    shutil.copytree(built_fixture_course.root, copy.root)
    release = copy.module_notebook(copy.release, FIXTURE)
    release.write_text(release.read_text().replace("Which letter?", "Which letter, edited?"))
    (copy.solutions / FIXTURE / "stale.yml").write_text("x: 1\n")
    problems = _problems(copy, sync=True)
    assert any(str(release) in p and "out of date" in p for p in problems), problems
    assert any("stale.yml" in p and "missing or extra" in p for p in problems), problems


def test_unbuilt_module_is_reported(fixture_course: CourseLayout) -> None:
    problems = _problems(fixture_course, sync=True)
    assert any("missing or extra generated file" in p for p in problems), problems
