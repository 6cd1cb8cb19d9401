"""The committed synthetic data match the generator and hold the documented facts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from digiready.data.generate import build_datasets, write_datasets

DATA = Path(__file__).resolve().parents[1] / "data"
FOUR_CS = {"contact": 14, "content": 8, "conduct": 7, "contract": 7}
ROUTES = {
    "child": {"s47 Children Act 1989", "early help", "information and advice"},
    "adult": {"s42 Care Act 2014", "care and support assessment", "information and advice",
              "mental health referral"},
}


def _read(stem: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{stem}.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def referrals() -> pd.DataFrame:
    return _read("referrals")


def test_committed_files_match_generator(tmp_path: Path) -> None:
    written = write_datasets(tmp_path)
    assert [p.name for p in written] == sorted(f"{stem}.csv" for stem in build_datasets())
    assert sorted(p.name for p in DATA.glob("*.csv")) == [p.name for p in written]
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name


@pytest.mark.parametrize(
    ("column", "value", "share"),
    [
        ("education_addressed_digital", "yes", 0.11),
        ("tech_training_last_2_years", "none", 0.27),
        ("tech_training_last_2_years", "once or twice", 0.55),
        ("self_rated_skills", "very good", 0.31),
        ("self_rated_skills", "good", 0.47),
    ],
)
def test_survey_shares(column: str, value: str, share: float) -> None:
    survey = _read("practitioner_survey")
    assert len(survey) == 648
    assert abs((survey[column] == value).mean() - share) <= 0.005


def test_survey_most_found_training_unhelpful() -> None:
    assert (_read("practitioner_survey")["training_helpfulness"] == "unhelpful").mean() > 0.5


def test_referral_ids_and_dates(referrals: pd.DataFrame) -> None:
    assert referrals["referral_id"].tolist() == [f"R{i:03d}" for i in range(1, 61)]
    dates = pd.to_datetime(referrals["date_received"], format="%Y-%m-%d")
    assert dates.is_monotonic_increasing
    assert (dates.dt.year == 2025).all()


def test_referral_groups_and_ages(referrals: pd.DataFrame) -> None:
    assert referrals["person_group"].value_counts().to_dict() == {"child": 30, "adult": 30}
    children = referrals["person_group"] == "child"
    assert referrals.loc[children, "age"].between(8, 17).all()
    assert referrals.loc[~children, "age"].between(18, 92).all()


def test_referral_four_cs(referrals: pd.DataFrame) -> None:
    online = referrals["online_element"] == "yes"
    assert online.sum() == 36
    assert (referrals.loc[~online, "online_element"] == "no").all()
    assert (referrals.loc[~online, "four_cs"] == "").all()
    assert referrals.loc[online, "four_cs"].value_counts().to_dict() == FOUR_CS
    for group in ("child", "adult"):
        in_group = online & (referrals["person_group"] == group)
        assert set(referrals.loc[in_group, "four_cs"]) == set(FOUR_CS)


def test_referral_routes_and_values(referrals: pd.DataFrame) -> None:
    for group, routes in ROUTES.items():
        in_group = referrals["person_group"] == group
        assert set(referrals.loc[in_group, "statutory_route"]) <= routes
    assert set(referrals["referral_source"]) <= {
        "school", "police", "GP", "family member", "self-referral", "housing provider",
        "voluntary organisation", "bank",
    }  # fmt: skip
    assert referrals["concern_summary"].is_unique


def _row(referrals: pd.DataFrame, words: str) -> pd.Series:
    (index,) = referrals.index[referrals["concern_summary"].str.contains(words)]
    return referrals.loc[index]


def test_referral_outcomes_make_sense_to_a_practice_educator(referrals: pd.DataFrame) -> None:
    """Outcomes follow the concern: unknown adults asking a child's address go to a strategy
    discussion under s47, suicide-promoting content gets a crisis response, and only advice
    referrals are closed after advice; every outcome of a s47 or s42 route names its step."""
    address = _row(referrals, "unknown adults who ask where the child lives")
    assert address["statutory_route"] == "s47 Children Act 1989"
    assert address["outcome"].startswith("strategy discussion held")
    suicide = _row(referrals, "encourage suicide")
    assert suicide["statutory_route"] == "mental health referral"
    assert "crisis team" in suicide["outcome"] and "closed" not in suicide["outcome"]
    closed = referrals[referrals["outcome"].str.startswith("closed")]
    assert set(closed["statutory_route"]) == {"information and advice"}
    route, outcome = referrals["statutory_route"], referrals["outcome"]
    assert outcome[route.str.startswith("s47")].str.contains("s47|child protection").all()
    assert outcome[route.str.startswith("s42")].str.contains("s42").all()


@pytest.mark.parametrize(
    ("stem", "rows"),
    [
        ("referrals", 60),
        ("case_records", 120),
        ("access_audit_log", 400),
        ("risk_scores", 500),
        ("practitioner_survey", 648),
        ("support_groups", 120),
    ],
)
def test_row_counts(stem: str, rows: int) -> None:
    assert len(_read(stem)) == rows


def test_audit_log_refers_to_case_records() -> None:
    records = set(_read("case_records")["record_id"])
    assert set(_read("access_audit_log")["record_id"]) <= records


def test_flag_follows_score() -> None:
    scores = _read("risk_scores")
    assert ((scores["risk_score"] >= 70) == (scores["flagged_high_risk"] == "yes")).all()


def test_support_groups_as_documented() -> None:
    """Names are unique; written platforms meet "any time" and live ones at set times; the
    directory has enough groups for carers of people with dementia for filtering to matter."""
    groups = _read("support_groups")
    assert groups["group_id"].tolist() == [f"G{i:03d}" for i in range(1, 121)]
    assert groups["name"].is_unique
    written = groups["platform"].isin(["forum", "app", "closed social media group"])
    assert (groups.loc[written, "meets"] == "any time").all()
    assert (groups.loc[~written, "meets"] != "any time").all()
    assert (groups["audience"] == "carers of people with dementia").sum() == 30


def test_risk_scores_documented_features() -> None:
    """The features data/README.md documents for module 03's audit: the same share harmed in
    every ethnic group, girls' and boys' false positive rates almost equal, 80% right overall."""
    scores = _read("risk_scores")
    harmed = scores["harm_within_12_months"] == "yes"
    flagged = scores["flagged_high_risk"] == "yes"
    for _, group in harmed.groupby(scores["ethnicity"]):
        assert abs(group.mean() - 0.2) <= 0.01
    not_harmed = scores[~harmed]
    rates = (not_harmed["flagged_high_risk"] == "yes").groupby(not_harmed["sex"]).mean()
    assert abs(rates["female"] - rates["male"]) < 0.01
    assert (flagged == harmed).mean() == 0.8


def test_audit_log_shows_each_record_surname_service_and_hour() -> None:
    """The audit log's derived columns (module 10) agree with the records and the timestamps,
    and hold the counts module 10's graded answers rest on."""
    log = _read("access_audit_log")
    records = _read("case_records").set_index("record_id")
    assert (log["record_last_name"] == log["record_id"].map(records["last_name"])).all()
    assert (log["record_service"] == log["record_id"].map(records["service"])).all()
    assert (log["hour"] == log["timestamp"].str[11:13].astype(int)).all()
    assert (log["staff_last_name"] == log["record_last_name"]).sum() == 5
    night = (log["hour"] < 8) | (log["hour"] >= 18)
    unexplained = log.loc[night & (log["recorded_reason"] == ""), "staff_id"].value_counts()
    assert unexplained.to_dict() == {"S07": 2, "S12": 2, "S06": 1, "S10": 1, "S16": 1}
