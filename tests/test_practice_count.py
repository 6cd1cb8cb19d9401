"""The ungraded pandas practice before 09's graded data items: feedback for each usual mistake,
and no traceback whatever the student types."""

from __future__ import annotations

import pandas as pd
import pytest

from digiready.student.practice import count_feedback

TABLE = pd.DataFrame({
    "online_element": ["yes", "yes", "no", "yes", "no"],
    "referral_source": ["school", "police", "school", "school", "GP"],
})
CONDITIONS = {"online_element": "yes", "referral_source": "school"}
BOTH = TABLE[(TABLE["online_element"] == "yes") & (TABLE["referral_source"] == "school")]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (2, "Yes. 2 rows meet both conditions"),
        (len(BOTH), "Yes."),
        (..., "Replace the three dots"),
        (BOTH, "That is a table of 2 rows, not a number. Put `len(`"),
        (TABLE["referral_source"].value_counts(), "not one number"),
        (3, "only `online_element` matches: add the other condition"),
        (0, "No rows matched. Check the spelling and capitals"),
        (5, "That is every row: the filter is missing"),
        (1, "Not quite. Keep the rows where"),
        ("2", "Your answer is str '2': write a number"),
        (True, "Your answer is bool True"),
    ],
)
def test_feedback_for_each_answer(answer: object, expected: str) -> None:
    assert expected in count_feedback(answer, TABLE, CONDITIONS).replace("**", "")
