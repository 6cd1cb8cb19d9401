"""Branching practice scenarios as data: steps, choices, consequences and a debrief.

A scenario is written in YAML beside the notebook that uses it and validated on load, so a typo
(a choice that leads to a step that does not exist) is reported with the file name before any
student sees it.
"""

from __future__ import annotations

import random
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from digiready.course.yaml_model import load_yaml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    """One option at a step: what the student does, what follows, and where it leads.

    `recommended` marks the choice the debrief's recommended path takes at this step (at most
    one per step); the debrief sets it beside the student's own choice."""

    label: str
    feedback: str
    next: str | None = None
    recommended: bool = False


class Step(_Strict):
    """A moment in the case: what is happening and what the practitioner must decide."""

    id: str
    text: str
    question: str
    choices: list[Choice] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_recommended(self) -> Step:
        if sum(choice.recommended for choice in self.choices) > 1:
            raise ValueError(f"step {self.id!r}: more than one choice is `recommended: true`")
        return self

    @property
    def recommended(self) -> Choice | None:
        """The recommended choice at this step, if the author marked one."""
        return next((choice for choice in self.choices if choice.recommended), None)


class Debrief(_Strict):
    """What the scenario was about: shown once the student reaches an end."""

    summary: str
    principle: str
    law: str
    capability: str


class Scenario(_Strict):
    """A whole scenario. The first step is where it starts."""

    id: str
    title: str
    content_note: str | None = None
    steps: list[Step] = Field(min_length=1)
    debrief: Debrief | None = None

    @model_validator(mode="after")
    def _links_resolve(self) -> Scenario:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        for step in self.steps:
            for choice in step.choices:
                if choice.next is not None and choice.next not in ids:
                    raise ValueError(
                        f"step {step.id!r}: choice leads to unknown step {choice.next!r}"
                    )
        return self

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


class ScenarioError(ValueError):
    """A scenario file is missing, not YAML, or does not fit the schema."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file, naming the file in every error."""
    return load_yaml_model(Path(path), Scenario, ScenarioError, "scenario")


def shown_order(scenario: Scenario, step: Step) -> list[Choice]:
    """The step's choices in the order students see them: shuffled with a seed made of the
    scenario's and the step's ids, so the order is the same on every run and for every student
    but does not follow the author's (often best-first) order."""
    choices = list(step.choices)
    random.Random(f"{scenario.id}/{step.id}").shuffle(choices)
    return choices


def recommended_first_everywhere(scenario: Scenario) -> bool:
    """True when every step with a recommended choice shows it first (and one step has one):
    a student could learn to pick the top option instead of thinking."""
    marked = [step for step in scenario.steps if step.recommended is not None]
    return bool(marked) and all(shown_order(scenario, step)[0].recommended for step in marked)


def steps_without_recommended(scenario: Scenario) -> list[str]:
    """Steps with no recommended choice in a scenario that marks one somewhere (else none)."""
    if all(step.recommended is None for step in scenario.steps):
        return []
    return [step.id for step in scenario.steps if step.recommended is None]


def branching_steps(scenario: Scenario) -> list[str]:
    """Steps whose choices lead to two or more different next steps (an end is not a step)."""
    return [
        step.id
        for step in scenario.steps
        if len({choice.next for choice in step.choices if choice.next is not None}) >= 2
    ]


def unreachable_steps(scenario: Scenario) -> list[str]:
    """Steps that no path from the first step reaches."""
    reached = {scenario.steps[0].id}
    frontier = [scenario.steps[0].id]
    while frontier:
        for choice in scenario.step(frontier.pop()).choices:
            if choice.next is not None and choice.next not in reached:
                reached.add(choice.next)
                frontier.append(choice.next)
    return [step.id for step in scenario.steps if step.id not in reached]


def dead_end_steps(scenario: Scenario) -> list[str]:
    """Steps from which no path reaches an end (a choice whose `next` is None)."""
    ending = {s.id for s in scenario.steps if any(c.next is None for c in s.choices)}
    changed = True
    while changed:
        changed = False
        for step in scenario.steps:
            if step.id not in ending and any(c.next in ending for c in step.choices):
                ending.add(step.id)
                changed = True
    return [step.id for step in scenario.steps if step.id not in ending]
