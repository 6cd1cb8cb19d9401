"""`digiready check`: a clean course passes; each kind of problem is caught and named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CAPABILITY, FIXTURE, fixture_cells, graded_cell, write_fixture_notebook
from digiready.authoring import cells as a
from digiready.authoring.check import check_course
from digiready.authoring.fingerprint import build_fingerprint
from digiready.course.paths import CourseLayout
from digiready.course.scenario import Scenario, shown_order

SOURCE = (
    "the quick brown fox jumps over the lazy dog while seven wise owls watch "
    "from the old oak tree at the edge of the village green"
)
FINGERPRINT = frozenset(build_fingerprint([SOURCE]))


def _item(number: str, prompt: str, answer: str, check: str, score: str, points: int) -> list[Any]:
    """The three cells of an auto-graded item 1.<number>: prompt, answer cell and test cell."""
    variable = f"answer_1_{number}"
    check, score = check.replace("{v}", variable), score.replace("{v}", variable)
    return [
        a.text(f"q1-{number}-prompt", f"**Question 1.{number}** ({points} points) {prompt}"),
        a.answer(f"m99_q1_{number}",
                 f"### BEGIN SOLUTION\n{variable} = {answer}\n### END SOLUTION"),
        a.test(
            f"m99_q1_{number}_test",
            f'"""Checks Question 1.{number}."""\n{check}\n'
            f"### BEGIN HIDDEN TESTS\nfrom digiready.marking import {score.split('(')[0]}\n"
            f"{score}\n### END HIDDEN TESTS",
            points,
            CAPABILITY,
            2,
        ),
    ]


def _matching_item(key: str, prompt_example: str = '{"A": "...", ...}') -> list[Any]:
    """A matching item (cases A-E, categories x, y, z) with this key, e.g. "xyzxy"."""
    correct = {case: category for case, category in zip("abcde", key, strict=True)}
    return _item(
        "3",
        f'Match A-E to "x", "y" or "z". Write a dict, e.g. `{prompt_example}`.',
        repr({case.upper(): category for case, category in correct.items()}),
        'check_matches({v}, "ABCDE", ["x", "y", "z"], "1.3")',
        "score_matches({v}, " + repr(correct) + ", 3)",
        3,
    )


def _order_item(correct: list[str]) -> list[Any]:
    """An order item over the letters a-d with this key."""
    return _item(
        "4",
        'Put a), b), c) and d) in order, in square brackets, e.g. `["...", "...", ...]`.',
        repr(correct),
        'check_order({v}, "abcd", "1.4")',
        "score_order({v}, " + repr(correct) + ", 3)",
        3,
    )


def _problems(layout: CourseLayout, sync: bool = False) -> list[str]:
    return [str(p) for p in check_course(layout, fingerprint=FINGERPRINT, sync=sync)]


def test_clean_fixture_course_has_no_problems(built_fixture_course: CourseLayout) -> None:
    assert _problems(built_fixture_course, sync=True) == []


def _edit(cells: list[Any], grade_id: str, change: Callable[[Any], None]) -> list[Any]:
    change(graded_cell({"cells": cells}, grade_id))
    return cells


def _edit_setup(cells: list[Any], line: str) -> list[Any]:
    """The setup cell with `line` put first."""
    for cell in cells:
        if cell.get("id") == "setup":
            cell.source = line + cell.source
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
    "format example in a prompt that scores": (
        lambda cells: _edit(cells, "q1-2-prompt", lambda c: c.update(
            source=c.source + ' Write the letters in curly brackets, e.g. {"a", "c"}.')),
        'the format example {"a", "c"} for answer_1_2 scores 3 of 3',
    ),
    "format example in an answer cell's comment that scores": (
        lambda cells: _edit(cells, "m99_q1_1", lambda c: c.update(
            source='# One letter in quotes, like "b".\n' + c.source)),
        'cell 4 [m99_q1_1]: the format example "b" for answer_1_1 scores 2 of 2',
    ),
    "format example that is one right match of a matching item": (
        lambda cells: cells + _matching_item(
            "yzxzy", '{"A": "y", "B": "y", "C": "y", "D": "y", "E": "y"}'),
        'for answer_1_3 scores 1.2 of 3',
    ),
    "matching item whose key is the categories in listed order": (
        lambda cells: cells + _matching_item("xyzxy"),
        "a positional guess (cases matched to the categories in listed order",
    ),
    "order item whose key is nearly the listed order": (
        lambda cells: cells + _order_item(["a", "b", "d", "c"]),
        "a positional guess (the items in listed order (a-b-c-d)",
    ),
    "choose-all item where every letter scores": (
        lambda cells: _edit(cells, "m99_q1_2_test", lambda c: c.update(source=c.source.replace(
            '{"a", "c"}, "abcd"', '{"a", "b", "c"}, "abcd"'))),
        "a positional guess (every letter chosen",
    ),
    "notebook importing digiready other than through digiready.student": (
        lambda cells: _edit_setup(
            cells, "from digiready.student.answer_format import check_letter\n"),
        "imports digiready.student.answer_format",
    ),
    "copied text": (
        lambda cells: cells + [a.text("copied", "As they say, " + SOURCE[:90] + ".")],
        "copied from the sources",
    ),
    "reflection not marked on the shared rubric": (
        lambda cells: _edit(cells, "m99_reflection", lambda c: c.update(
            source="Model answer.\n\n| Criterion | Marks |\n| --- | --- |\n| Good | 4 |")),
        "the reflection's mark scheme is not the shared rubric: no mark scheme in the shared",
    ),
    "rubric whose points do not add up": (
        lambda cells: _edit(cells, "m99_reflection",
                            lambda c: c.metadata.nbgrader.update(points=5)),
        "the rubric's criteria add up to 4 points, the cell is worth 5",
    ),
    "rubric criterion with an unknown capability": (
        lambda cells: _edit(cells, "m99_reflection", lambda c: c.update(
            source=c.source.replace("`practice.law_and_regulation`", "`practice.law`"))),
        "a rubric criterion assesses an unknown capability ('practice.law')",
    ),
    "reflection not tagged with what its criteria assess": (
        lambda cells: _edit(cells, "m99_reflection",
                            lambda c: c.metadata.digiready.pop("assesses")),
        "the reflection's `assesses` tag does not list exactly the capabilities its criteria",
    ),
    "reflection tagged with a capability no criterion assesses": (
        lambda cells: _edit(cells, "m99_reflection", lambda c: c.metadata.digiready.update(
            capability="impact.digital_professionalism")),
        "the cell's capability (impact.digital_professionalism) is not assessed by any",
    ),
    "front matter minutes that disagree with curriculum.yml": (
        lambda cells: _edit(cells, "title", lambda c: c.update(
            source=c.source + "\n\n**Time:** about 40 minutes.")),
        "front matter: the notebook says about 40 minutes, curriculum.yml says 12",
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


def test_items_that_cannot_be_guessed_pass(fixture_course: CourseLayout) -> None:
    """Placeholders score nothing, and a shuffled key with a repeated category and an order far
    from the listed one leave every positional guess at a third of the points or less."""
    cells = fixture_cells() + _matching_item("yzxzx") + _order_item(["c", "d", "b", "a"])
    write_fixture_notebook(fixture_course, cells)
    assert _problems(fixture_course) == []


SCENARIO_HEAD = {"id": "s", "title": "A visit", "debrief": {
    "summary": "s", "principle": "p", "law": "l", "capability": "c"}}


def _scenario(links: dict[str, list[str | None]]) -> dict[str, Any]:
    """A scenario whose steps (in this order) have one choice per listed `next`."""
    steps = [
        {"id": step, "text": "t", "question": "q",
         "choices": [{"label": f"{step} {i}", "feedback": "f", "next": target}
                     for i, target in enumerate(targets)]}
        for step, targets in links.items()
    ]
    return {**SCENARIO_HEAD, "steps": steps}


BROKEN_SCENARIOS: dict[str, tuple[dict[str, list[str | None]], list[str]]] = {
    "never branches": (
        {"one": ["two", "two"], "two": ["three", "three"], "three": [None, None]},
        ["scenario.yml: steps: the scenario never branches: every step's choices lead to the "
         "same next step"],
    ),
    "an unreachable step": (
        {"one": ["two", "three"], "two": [None, None], "three": [None, None],
         "orphan": [None, "two"]},
        ["scenario.yml: step 'orphan': no path from the first step reaches this step"],
    ),
    "a dead end": (
        {"one": ["two", "loop"], "two": [None, None], "loop": ["circle", "circle"],
         "circle": ["loop", "loop"]},
        ["scenario.yml: step 'loop': no path from this step reaches an end",
         "scenario.yml: step 'circle': no path from this step reaches an end"],
    ),
}


@pytest.mark.parametrize("name", list(BROKEN_SCENARIOS))
def test_each_scenario_defect_is_reported(fixture_course: CourseLayout, name: str) -> None:
    links, expected = BROKEN_SCENARIOS[name]
    path = fixture_course.source / FIXTURE / "scenario.yml"
    path.write_text(yaml.safe_dump(_scenario(links)), encoding="utf-8")
    problems = _problems(fixture_course)
    found = [p.split(f"{FIXTURE}/", 1)[1].split(" (fix: ")[0] for p in problems]
    assert sorted(found) == sorted(expected), problems
    assert all("(fix: " in p for p in problems)


def test_branching_scenario_passes_and_other_yaml_is_not_a_scenario(
    fixture_course: CourseLayout,
) -> None:
    folder = fixture_course.source / FIXTURE
    links: dict[str, list[str | None]] = {"one": ["two", "three"], "two": ["three", None],
                                          "three": [None, None]}
    (folder / "scenario.yml").write_text(yaml.safe_dump(_scenario(links)), encoding="utf-8")
    (folder / "glossary.yml").write_text("terms: {s42: Care Act}\n", encoding="utf-8")
    assert _problems(fixture_course) == []


def _recommending(links: dict[str, list[str | None]], shown: int) -> dict[str, Any]:
    """`_scenario(links)` with the choice shown at position `shown` recommended at each step."""
    data = _scenario(links)
    scenario = Scenario.model_validate(data)
    for step in data["steps"]:
        pick = shown_order(scenario, scenario.step(step["id"]))[shown].label
        for choice in step["choices"]:
            choice["recommended"] = choice["label"] == pick
    return data


def test_recommended_choice_shown_first_at_every_step_is_reported(
    fixture_course: CourseLayout,
) -> None:
    """Issue 12 part 6: options are not "best first" at every step."""
    links: dict[str, list[str | None]] = {"one": ["two", "three"], "two": ["three", None],
                                          "three": [None, None]}
    path = fixture_course.source / FIXTURE / "scenario.yml"
    path.write_text(yaml.safe_dump(_recommending(links, 0)), encoding="utf-8")
    assert [p for p in _problems(fixture_course) if "shown first at every step" in p], (
        _problems(fixture_course))
    path.write_text(yaml.safe_dump(_recommending(links, -1)), encoding="utf-8")
    assert _problems(fixture_course) == []


def test_step_without_a_recommended_choice_is_reported(fixture_course: CourseLayout) -> None:
    data = _recommending({"one": ["two", "three"], "two": [None, None], "three": [None, None]}, -1)
    for choice in data["steps"][2]["choices"]:
        choice["recommended"] = False
    (fixture_course.source / FIXTURE / "scenario.yml").write_text(yaml.safe_dump(data))
    assert [p.split(f"{FIXTURE}/", 1)[1].split(" (fix: ")[0] for p in _problems(fixture_course)
            ] == ["scenario.yml: step 'three': no choice is `recommended: true`, so the debrief "
                  "cannot set the student's choice here beside the recommended one"]


def test_unloadable_scenario_is_reported(fixture_course: CourseLayout) -> None:
    broken = _scenario({"one": ["nowhere", None]})
    (fixture_course.source / FIXTURE / "scenario.yml").write_text(yaml.safe_dump(broken))
    assert any("not a valid scenario" in p and "unknown step 'nowhere'" in p
               for p in _problems(fixture_course))


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


def _set_fixture_module(layout: CourseLayout, **changes: Any) -> None:
    """Change the fixture module's entry in the fixture course's curriculum.yml."""
    curriculum = yaml.safe_load(layout.curriculum.read_text(encoding="utf-8"))
    for module in curriculum["modules"]:
        if module["id"] == FIXTURE:
            module.update(changes)
            for key in [key for key, value in changes.items() if value is None]:
                del module[key]
    layout.curriculum.write_text(yaml.safe_dump(curriculum, sort_keys=False), encoding="utf-8")


ENGLAND = {"applies_in": "england", "wales": "w", "scotland": "s", "northern_ireland": "n"}
BOX = ("### Where this law applies\n\nEngland: the Care Act 2014. Wales, Scotland and "
       "Northern Ireland have their own law.")


def test_complete_module_without_jurisdiction(fixture_course: CourseLayout) -> None:
    _set_fixture_module(fixture_course, jurisdiction=None)
    assert any("curriculum.yml: module 99-fixture has no jurisdiction" in p
               for p in _problems(fixture_course))


def test_module_with_law_needs_a_jurisdiction_box(fixture_course: CourseLayout) -> None:
    _set_fixture_module(fixture_course, jurisdiction=ENGLAND)
    assert any("jurisdiction box: no jurisdiction box" in p for p in _problems(fixture_course))
    write_fixture_notebook(fixture_course, fixture_cells() + [
        a.text("law-box", BOX.replace(" and Northern Ireland", ""))])
    assert any("the jurisdiction box does not mention Northern Ireland" in p
               for p in _problems(fixture_course))
    write_fixture_notebook(fixture_course, fixture_cells() + [a.text("law-box", BOX)])
    assert _problems(fixture_course) == []


def test_nqsw_module_names_post_qualifying_standards(fixture_course: CourseLayout) -> None:
    curriculum = yaml.safe_load(fixture_course.curriculum.read_text(encoding="utf-8"))
    for pathway in curriculum["pathways"]:
        if pathway["id"] == "nqsw-refresher":
            pathway["optional"].append(FIXTURE)
    fixture_course.curriculum.write_text(yaml.safe_dump(curriculum, sort_keys=False))
    assert any("names no Post-Qualifying Standards" in p for p in _problems(fixture_course))
    _set_fixture_module(fixture_course, post_qualifying_standards=["child and family"])
    assert _problems(fixture_course) == []


def test_under_timed_module_is_a_warning(fixture_course: CourseLayout) -> None:
    """1,800 more words to read (10 minutes) leave the fixture's 12 minutes under-timed: a
    warning with its own marker, which does not fail the check; enough minutes clear it."""
    reading = a.text("long-read", "## More to read\n\n" + "word " * 1800)
    write_fixture_notebook(fixture_course, fixture_cells() + [reading])
    problems = check_course(fixture_course, fingerprint=FINGERPRINT, sync=False)
    (warning,) = problems
    assert warning.warning
    assert ": minutes: warning: module 99-fixture states 12 minutes, below the reading-time " \
        "estimate of 15 (1836 words read at 180 a minute, 2 auto-graded items at 2 minutes " \
        "each and 5 words of reflection written at 20 a minute)" in str(warning)
    _set_fixture_module(fixture_course, minutes=15)
    assert _problems(fixture_course) == []


def test_reflection_length_comes_from_the_stated_word_limit(fixture_course: CourseLayout) -> None:
    """A prompt asking for 250 to 400 words counts 400 words of writing (20 minutes)."""
    cells = _edit(fixture_cells(), "reflection-prompt", lambda c: c.update(
        source=c.source + " Write 250 to 400 words."))
    write_fixture_notebook(fixture_course, cells)
    (warning,) = check_course(fixture_course, fingerprint=FINGERPRINT, sync=False)
    assert "400 words of reflection" in str(warning) and warning.warning
