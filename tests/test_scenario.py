"""The scenario engine: validated YAML, and a widget view driven as a student would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO
from digiready.authoring import cells as authoring
from digiready.course.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    recommended_first_everywhere,
    shown_order,
    steps_without_recommended,
)
from digiready.student.practice import practice_question
from digiready.student.scenario_view import (
    CHOICES_CLASS,
    FOCUS_STYLE,
    GRADING_KERNEL,
    QUESTION_CLASS,
    NotInGrading,
    ScenarioView,
    show_scenario,
)

SCENARIO = {
    "id": "test",
    "title": "A home visit",
    "content_note": "Mentions financial abuse.",
    "steps": [
        {
            "id": "one",
            "text": "Ms Okafor mentions a new online friend.",
            "question": "What next?",
            "choices": [
                {
                    "label": "Ask about the friendship",
                    "feedback": "Curious, not judging.",
                    "next": "two",
                },
                {"label": "Tell her to stop", "feedback": "That overrides her choice."},
            ],
        },
        {
            "id": "two",
            "text": "She says he asked for money.",
            "question": "And now?",
            "choices": [
                {"label": "Talk about scams together", "feedback": "Empowering."},
                {"label": "Call the bank for her", "feedback": "Without consent?"},
            ],
        },
    ],
    "debrief": {
        "summary": "Balancing autonomy and protection.",
        "principle": "Empowerment",
        "law": "Care Act 2014 s42",
        "capability": "practice.online_safeguarding",
    },
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenario.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_walk_through_to_debrief(tmp_path: Path) -> None:
    view = ScenarioView(load_scenario(write(tmp_path, SCENARIO)))
    assert "Content note" in view.header.value
    assert "new online friend" in view.story.value
    view.choices.value = "Ask about the friendship"
    view.choose_button.click()
    assert "Curious, not judging." in view.feedback.value
    assert view.choices.disabled and view.choose_button.disabled
    assert view.continue_button.layout.display is None
    view.continue_button.click()
    assert "asked for money" in view.story.value
    view.choices.value = "Talk about scams together"
    view.choose_button.click()
    assert view.continue_button.description == "See the debrief"
    view.continue_button.click()
    assert view.finished
    for expected in ("Debrief", "Empowerment", "Care Act 2014 s42", "Ask about the friendship"):
        assert expected in view.debrief.value
    assert view.path == [("one", "Ask about the friendship"), ("two", "Talk about scams together")]
    view.restart_button.click()
    assert view.path == [] and view.debrief.value == "" and not view.choices.disabled


def test_choose_without_selection_asks_to_select(tmp_path: Path) -> None:
    view = ScenarioView(load_scenario(write(tmp_path, SCENARIO)))
    view.choose_button.click()
    assert "Select one of the options" in view.feedback.value
    assert view.path == []


def test_feedback_is_announced_to_screen_readers(tmp_path: Path) -> None:
    view = ScenarioView(load_scenario(write(tmp_path, SCENARIO)))
    view.choices.value = "Tell her to stop"
    view.choose_button.click()
    assert 'aria-live="polite"' in view.feedback.value
    # No label of its own that names nothing: the question names the group (in the browser).
    assert view.choices.description == ""
    assert f'id="{view.question_id}" class="{QUESTION_CLASS}"><strong>What next?' in (
        view.story.value)


def test_broken_link_is_reported_with_file_name(tmp_path: Path) -> None:
    broken = yaml.safe_load(yaml.safe_dump(SCENARIO))
    broken["steps"][0]["choices"][0]["next"] = "nowhere"
    path = write(tmp_path, broken)
    with pytest.raises(ScenarioError, match=r"(?s)scenario\.yml.*unknown step 'nowhere'"):
        load_scenario(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="missing.yml"):
        load_scenario(tmp_path / "missing.yml")


def test_practice_question_gives_verdict_in_words() -> None:
    view = practice_question(
        "Which C?", {"Content": "Yes, harmful material.", "Contact": "No."}, "Content"
    )
    view.choices.value = "Contact"
    view.choose_button.click()
    assert "Not quite." in view.feedback.value
    assert view.finished
    view.restart_button.click()
    view.choices.value = "Content"
    view.choose_button.click()
    assert "Yes." in view.feedback.value


def test_in_a_grading_kernel_practice_is_a_line_of_text_not_widgets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernels `digiready grade` runs skip the practice widgets (no one sees them there and
    they earn no marks): each shows one line saying so, and builds and loads nothing."""
    monkeypatch.setenv(GRADING_KERNEL, "1")
    scenario = show_scenario("not-even-loaded.yml")
    practice = practice_question("Which C?", {"Content": "Yes.", "Contact": "No."}, "Content")
    assert isinstance(scenario, NotInGrading) and isinstance(practice, NotInGrading)
    assert repr(scenario) == ("[Practice scenario not-even-loaded.yml: not graded, so not run "
                              "when the notebook is graded]")
    assert repr(practice).startswith("[Practice question: not graded")
    with pytest.raises(ValueError, match="not one of the options"):
        practice_question("Q?", {"A": "x", "B": "y"}, "C")  # an authoring error still shows
    monkeypatch.setenv(GRADING_KERNEL, "0")
    assert isinstance(practice_question("Q?", {"A": "x", "B": "y"}, "A"), ScenarioView)


def test_practice_question_rejects_unknown_answer() -> None:
    with pytest.raises(ValueError, match="not one of the options"):
        practice_question("Q?", {"A": "x", "B": "y"}, "C")


def test_long_options_wrap_instead_of_overlapping(tmp_path: Path) -> None:
    view = ScenarioView(load_scenario(write(tmp_path, SCENARIO)))
    assert CHOICES_CLASS in view.choices._dom_classes
    assert "white-space: normal" in view.header.value and "height: auto" in view.header.value


def test_widget_cells_start_with_their_code_folded() -> None:
    cell = authoring.widget("practice-1", 'practice_question("Q?", {"A": "x", "B": "y"}, "A")')
    assert cell.metadata["jupyter"] == {"source_hidden": True}
    assert cell.cell_type == "code" and "nbgrader" not in cell.metadata


def _paths(scenario: Scenario, step_id: str) -> list[list[str]]:
    """Every path from `step_id` to an end, as the label of the choice taken at each step."""
    paths: list[list[str]] = []
    for choice in scenario.step(step_id).choices:
        tails = [[]] if choice.next is None else _paths(scenario, choice.next)
        paths += [[choice.label, *tail] for tail in tails]
    return paths


COURSE_SCENARIOS = sorted(
    path for path in REPO.source.glob("*/*.yml") if "steps" in yaml.safe_load(path.read_text())
)


@pytest.mark.parametrize("path", COURSE_SCENARIOS, ids=lambda p: p.stem)
def test_every_path_of_a_course_scenario_reaches_the_debrief(path: Path) -> None:
    """The view follows each choice's `next` through the branching graph to the debrief, and
    the debrief lists the path the student took beside the recommended choices."""
    scenario = load_scenario(path)
    view = ScenarioView(scenario)
    for labels in _paths(scenario, scenario.steps[0].id):
        view.restart_button.click()
        for label in labels:
            view.choices.value = label
            view.choose_button.click()
            view.continue_button.click()
        assert view.finished and "Debrief" in view.debrief.value
        assert [label for _, label in view.path] == labels
        assert view.debrief.value.count("Recommended here:") == len(labels)


def _recommended(data: dict[str, Any], picks: dict[str, int]) -> dict[str, Any]:
    """A copy of a scenario's data with choice `picks[step]` recommended at each listed step."""
    copy = yaml.safe_load(yaml.safe_dump(data))
    for step in copy["steps"]:
        if step["id"] in picks:
            step["choices"][picks[step["id"]]]["recommended"] = True
    return copy


def test_at_most_one_recommended_choice_per_step(tmp_path: Path) -> None:
    data = _recommended(SCENARIO, {"one": 0})
    data["steps"][0]["choices"][1]["recommended"] = True
    with pytest.raises(ScenarioError, match="step 'one': more than one choice is `recommended"):
        load_scenario(write(tmp_path, data))


def test_debrief_sets_each_choice_beside_the_recommended_one(tmp_path: Path) -> None:
    """Issue 12 part 6: the debrief lists every step taken with the student's choice and the
    recommended one, in words."""
    data = _recommended(SCENARIO, {"one": 0, "two": 0})
    view = ScenarioView(load_scenario(write(tmp_path, data)))
    view.choices.value = "Ask about the friendship"
    view.choose_button.click()
    view.continue_button.click()
    view.choices.value = "Call the bank for her"
    view.choose_button.click()
    view.continue_button.click()
    debrief = view.debrief.value
    assert "You took the recommended choice at 1 of the 2 steps that have one." in debrief
    assert (
        "<li><p><strong>What next?</strong></p><p>Your choice: Ask about the friendship</p>"
        "<p>Recommended here: the same. Your choice was the recommended one.</p></li>"
    ) in debrief
    assert (
        "<li><p><strong>And now?</strong></p><p>Your choice: Call the bank for her</p>"
        "<p>Recommended here: Talk about scams together</p></li>"
    ) in debrief


def test_options_are_shown_in_a_fixed_shuffled_order(tmp_path: Path) -> None:
    """The same order on every run and for every student, whatever the author's order."""
    scenario = load_scenario(write(tmp_path, SCENARIO))
    step = scenario.steps[0]
    assert [c.label for c in shown_order(scenario, step)] == [
        c.label for c in shown_order(scenario, step)]
    assert sorted(c.label for c in shown_order(scenario, step)) == sorted(
        c.label for c in step.choices)
    first, second = ScenarioView(scenario), ScenarioView(scenario)
    assert first.choices.options == second.choices.options


@pytest.mark.parametrize("path", COURSE_SCENARIOS, ids=lambda p: p.stem)
def test_course_scenario_recommends_one_choice_per_step_not_always_first(path: Path) -> None:
    """Every step marks its recommended choice, and students do not see it first at every
    step (the shuffle as shown; the same as `digiready check` reports)."""
    scenario = load_scenario(path)
    assert steps_without_recommended(scenario) == []
    assert all(step.recommended is not None for step in scenario.steps)
    assert not recommended_first_everywhere(scenario)
    view = ScenarioView(scenario)
    firsts = []
    for step in scenario.steps:
        view._show_step(step)
        firsts.append(view.choices.options[0] == getattr(step.recommended, "label", None))
    assert not all(firsts)


def test_scenario_controls_get_a_thick_focus_outline(tmp_path: Path) -> None:
    view = ScenarioView(load_scenario(write(tmp_path, SCENARIO)))
    assert FOCUS_STYLE in view.header.value and "outline: 3px solid" in FOCUS_STYLE
