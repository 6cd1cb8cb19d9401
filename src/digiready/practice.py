"""Practice questions: ungraded, one choice, with feedback on the option picked."""

from __future__ import annotations

from digiready.scenario import Choice, Scenario, Step
from digiready.scenario_view import ScenarioView


def practice_question(question: str, options: dict[str, str], correct: str) -> ScenarioView:
    """A one-step widget: `options` maps each option to the feedback it earns.

    The option named by `correct` gets "Yes." before its feedback, the others "Not quite.",
    so the verdict is in words, never in colour alone.
    """
    if correct not in options:
        raise ValueError(f"practice question {question!r}: {correct!r} is not one of the options")
    choices = [
        Choice(label=label, feedback=f"**{'Yes.' if label == correct else 'Not quite.'}** {text}")
        for label, text in options.items()
    ]
    step = Step(id="practice", text="", question=question, choices=choices)
    return ScenarioView(Scenario(id="practice", title="Practice", steps=[step]))
