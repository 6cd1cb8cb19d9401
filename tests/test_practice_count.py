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


def test_feedback_counts_the_conditions_it_names() -> None:
    """Three conditions are "all 3 conditions" and "the other conditions", never "both"."""
    table = TABLE.assign(area=["north", "north", "south", "south", "north"])
    three = {**CONDITIONS, "area": "north"}
    assert "Yes. 1 row meets all 3 conditions" in count_feedback(1, table, three).replace("**", "")
    only_area = count_feedback(3, table, three)
    assert "only `online_element` matches: add the other conditions with `&`" in only_area
    series = count_feedback(table["area"].value_counts(), table, three)
    assert "Filter the table with all 3 conditions" in series
    assert "both" not in only_area + series
