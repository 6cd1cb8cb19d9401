"""A late-work policy a UK programme can set, as an nbgrader `LateSubmissionPlugin`.

nbgrader's `AssignLatePenalties` (an autograde step) asks the plugin it is configured with for a
penalty whenever a submission is later than its due date plus any extension, and stores it as the
notebook's `late_submission_penalty`. `nbgrader_config.py` names this plugin and its policy:

- "none" (default): lateness is reported, nothing is deducted;
- "cap": the mark is capped at `cap_percent` of the maximum (40, a UK undergraduate pass mark);
- "per_day": `per_day_percent` of the maximum is deducted for each day or part of a day late.

With `max_days` above 0, work more than that many days late scores 0 under "cap" and "per_day".
A day is each started 24 hours after the deadline.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float, Int

DAY_SECONDS = 24 * 60 * 60


def days_late(seconds_late: float) -> int:
    """Days late, counting each started 24 hours (0 when on time)."""
    return math.ceil(seconds_late / DAY_SECONDS) if seconds_late > 0 else 0


def late_penalty(
    policy: str,
    score: float,
    max_score: float,
    seconds_late: float,
    cap_percent: float = 40.0,
    per_day_percent: float = 5.0,
    max_days: int = 0,
) -> float | None:
    """The points to deduct from `score` (out of `max_score`), or None for no penalty."""
    days = days_late(seconds_late)
    if policy == "none" or days == 0:
        return None
    if max_days and days > max_days:
        return score
    if policy == "cap":
        return max(0.0, score - max_score * cap_percent / 100)
    return min(score, max_score * per_day_percent / 100 * days)


class UKLatePolicy(LateSubmissionPlugin):  # type: ignore[misc]
    """nbgrader's late-submission plugin with a UK programme's policy (see the module)."""

    policy = Enum(
        ("none", "cap", "per_day"), default_value="none",
        help="none: report lateness only; cap: cap the mark at cap_percent; "
        "per_day: deduct per_day_percent of the maximum per day late",
    ).tag(config=True)
    cap_percent = Float(40.0, help="The cap, as a percentage of the maximum mark").tag(config=True)
    per_day_percent = Float(
        5.0, help="Deducted per day late, as a percentage of the maximum mark"
    ).tag(config=True)
    max_days = Int(0, help="Work more days late than this scores 0 (0: no limit)").tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        return late_penalty(
            self.policy, score, self._max_score(), total_seconds_late,
            self.cap_percent, self.per_day_percent, self.max_days,
        )

    def _max_score(self) -> float:
        """The notebook's maximum, from the AssignLatePenalties step that asks (it sets the
        gradebook, assignment and notebook before it makes its plugin: nbgrader 0.9.6,
        preprocessors/latesubmissions.py, `preprocess`)."""
        step = self.parent
        notebook = step.gradebook.find_notebook(step.notebook_id, step.assignment_id)
        return float(notebook.max_score)
