"""Practice questions: ungraded, one choice, with feedback on the option picked."""

from __future__ import annotations

import re

from digiready.scenario import Choice, Scenario, Step
from digiready.scenario_view import ScenarioView

# An author's own verdict at the start of a feedback text ("Right: ..."), which would repeat ours.
_OWN_VERDICT = re.compile(r"^\s*(?:right|correct|yes|no|not quite|wrong)\s*[:.,!]\s*", re.I)


def _without_verdict(text: str) -> str:
    """`text` without a leading verdict of its own, first letter capitalised."""
    rest = _OWN_VERDICT.sub("", text, count=1)
    return rest[:1].upper() + rest[1:] if rest != text else text


def practice_question(question: str, options: dict[str, str], correct: str) -> ScenarioView:
    """A one-step widget: `options` maps each option to the feedback it earns.

    The option named by `correct` gets "Yes." before its feedback, the others "Not quite.",
    so the verdict is in words, never in colour alone (a verdict the feedback already starts
    with, such as "Right:", is dropped so it is not said twice).
    """
    if correct not in options:
        raise ValueError(f"practice question {question!r}: {correct!r} is not one of the options")
    choices = [
        Choice(label=label, feedback=f"**{'Yes.' if label == correct else 'Not quite.'}** "
                                 f"{_without_verdict(text)}")
        for label, text in options.items()
    ]
    step = Step(id="practice", text="", question=question, choices=choices)
    return ScenarioView(Scenario(id="practice", title="Practice", steps=[step]))
