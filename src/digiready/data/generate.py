"""Deterministic generator for the course's synthetic data sets.

Every person, record and group is invented. Each data set has its own random
generator derived from ``SEED``, so the CSV files are byte-identical on every run.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import yaml

SEED: int = 20250401

T = TypeVar("T")
_Rng = np.random.Generator

# ------------------------------------------------------------------ shared helpers


def _rng(stem: str) -> _Rng:
    """Return a generator for one data set, independent of the others."""
    return np.random.default_rng([SEED, zlib.crc32(stem.encode())])


def _pick(rng: _Rng, options: Sequence[T], n: int, weights: Sequence[int] | None = None) -> list[T]:
    """Draw ``n`` items from ``options`` with replacement, optionally weighted."""
    p = None if weights is None else np.asarray(weights, dtype=float) / sum(weights)
    return [options[int(i)] for i in rng.choice(len(options), size=n, p=p)]


def _one(rng: _Rng, options: Sequence[T]) -> T:
    """Draw one item uniformly from ``options``."""
    return options[int(rng.integers(len(options)))]


def _sample(rng: _Rng, items: Sequence[T], k: int) -> list[T]:
    """Draw ``k`` distinct items from ``items``."""
    return [items[int(i)] for i in rng.choice(len(items), size=k, replace=False)]


def _exact(rng: _Rng, counts: dict[str, int]) -> list[str]:
    """Return a shuffled list holding each key exactly ``counts[key]`` times."""
    values = [key for key, count in counts.items() for _ in range(count)]
    return _sample(rng, values, len(values))


def _random_date(rng: _Rng, start: date, end: date) -> date:
    """Draw a date between ``start`` and ``end`` inclusive."""
    return start + timedelta(days=int(rng.integers((end - start).days + 1)))


@dataclass(frozen=True)
class _Heritage:
    """Common names and recorded characteristics for one heritage group."""

    ethnicity: str
    religions: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]
    weight: int


_HERITAGES_FILE = Path(__file__).resolve().parent / "heritages.yml"


def _heritages() -> tuple[_Heritage, ...]:
    """The heritage groups of `heritages.yml`, in file order."""
    rows = yaml.safe_load(_HERITAGES_FILE.read_text(encoding="utf-8"))
    return tuple(
        _Heritage(row["ethnicity"], tuple(row["religions"]), tuple(row["first_names"]),
                  tuple(row["surnames"]), int(row["weight"]))
        for row in rows
    )


_HERITAGES = _heritages()


def _people(rng: _Rng, n: int) -> list[tuple[str, str, _Heritage]]:
    """Invent ``n`` people as (first name, surname, heritage group)."""
    groups = _pick(rng, _HERITAGES, n, [h.weight for h in _HERITAGES])
    return [(_one(rng, h.first_names), _one(rng, h.surnames), h) for h in groups]


# ------------------------------------------------------------------ referrals.csv

_CONCERNS_FILE = Path(__file__).resolve().parent / "referral_concerns.yml"


@dataclass(frozen=True)
class _Concern:
    """One invented concern of the referral log, with the outcomes that fit it."""

    group: str
    four_cs: str  # "" when the concern has no online element
    ages: tuple[int, int]
    summary: str
    route: str
    sources: tuple[str, ...]
    outcomes: tuple[str, ...]  # repeats weight the likelier


def _concerns() -> list[_Concern]:
    """The concerns in `referral_concerns.yml` (data in a data file, not in code)."""
    raw = yaml.safe_load(_CONCERNS_FILE.read_text(encoding="utf-8"))["concerns"]
    return [
        _Concern(
            group=str(row["group"]),
            four_cs=str(row["four_cs"]),
            ages=(int(row["ages"][0]), int(row["ages"][1])),
            summary=str(row["summary"]),
            route=str(row["route"]),
            sources=tuple(str(source) for source in row["sources"]),
            outcomes=tuple(str(outcome) for outcome in row["outcomes"]),
        )
        for row in raw
    ]


def _referrals(rng: _Rng) -> pd.DataFrame:
    """Build the online safeguarding referral log (module 09)."""
    all_concerns = _concerns()
    concerns = _sample(rng, all_concerns, len(all_concerns))
    dates = sorted(_random_date(rng, date(2025, 1, 2), date(2025, 12, 19)) for _ in concerns)
    rows = [
        {
            "referral_id": f"R{i:03d}",
            "date_received": received.isoformat(),
            "person_group": concern.group,
            "age": int(rng.integers(concern.ages[0], concern.ages[1] + 1)),
            "referral_source": _one(rng, concern.sources),
            "concern_summary": concern.summary,
            "online_element": "yes" if concern.four_cs else "no",
            "four_cs": concern.four_cs,
            "statutory_route": concern.route,
            "outcome": _one(rng, concern.outcomes),
        }
        for i, (received, concern) in enumerate(zip(dates, concerns, strict=True), start=1)
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ case_records.csv

_AS_AT = date(2025, 12, 31)
_RECENT = (date(2024, 1, 2), _AS_AT)  # review dates within the retention period
_DISTRICTS = ("LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "LS13", "LS14", "LS15", "LS28")
# service -> (age range, health conditions recorded by that service)
_SERVICES: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {
    "children's services": (
        (2, 17),
        ("none recorded", "asthma", "autism", "ADHD", "epilepsy", "learning disability"),
    ),
    "adult social care": (
        (18, 98),
        (
            "none recorded",
            "dementia",
            "stroke",
            "COPD",
            "learning disability",
            "sight loss",
            "multiple sclerosis",
        ),
    ),
    "mental health": (
        (18, 80),
        ("depression", "bipolar disorder", "schizophrenia", "anxiety disorder", "eating disorder"),
    ),
}
_ORIENTATIONS = ("not recorded", "Straight or heterosexual", "Gay or lesbian", "Bisexual")
_LAWFUL_BASES = ("public task", "legal obligation", "vital interests", "consent")
_SCHEDULE_1 = (
    "Sch 1 para 2 health or social care",
    "Sch 1 para 6 statutory purposes",
    "Sch 1 para 18 safeguarding",
)
_SPELLINGS = {
    "Mohammed": "Muhammad",
    "Aisha": "Ayesha",
    "Katarzyna": "Katarzina",
    "Shanice": "Shaniece",
    "Siobhan": "Shivaun",
    "Zainab": "Zaynab",
    "Tunde": "Babatunde",
    "Margaret": "Maggie",
    "Bridget": "Bridie",
    "Johnny": "John",
    "Noor": "Nour",
    "Harpreet": "Harprit",
}


def _case_record(rng: _Rng, person: tuple[str, str, _Heritage], service: str) -> dict[str, object]:
    """Invent one person's record, before any deliberate errors are added."""
    first_name, last_name, heritage = person
    (low, high), conditions = _SERVICES[service]
    age = int(rng.integers(low, high + 1))
    born = 2025 - age  # everyone born in that year is ``age`` on 31 December 2025
    return {
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": _random_date(rng, date(born, 1, 1), date(born, 12, 31)).isoformat(),
        "age": age,
        "postcode_district": _one(rng, _DISTRICTS),
        "ethnicity": heritage.ethnicity,
        "religion": _one(rng, heritage.religions),
        "health_condition": _one(rng, conditions),
        "sexual_orientation": (
            "not recorded" if age < 18 else _pick(rng, _ORIENTATIONS, 1, (16, 5, 1, 1))[0]
        ),
        "service": service,
        "lawful_basis": _pick(rng, _LAWFUL_BASES, 1, (10, 3, 1, 1))[0],
        "special_category_condition": _one(rng, _SCHEDULE_1),
        "consent_to_share": _pick(rng, ("yes", "no", "not asked"), 1, (6, 2, 3))[0],
        "last_reviewed": _random_date(rng, *_RECENT).isoformat(),
    }


def _case_records(rng: _Rng) -> pd.DataFrame:
    """Build case records for the data protection module, with discoverable errors."""
    services = _pick(rng, tuple(_SERVICES), 117, (45, 50, 22))
    df = pd.DataFrame(
        [_case_record(rng, p, s) for p, s in zip(_people(rng, 117), services, strict=True)]
    )
    ages = df["age"].astype(int)
    future = _sample(rng, df.index[ages >= 60].tolist(), 3)
    df.loc[future, "date_of_birth"] = [
        f"{int(d[:4]) + 100}{d[4:]}" for d in df.loc[future, "date_of_birth"]
    ]
    typo = ages.map(lambda a: a >= 12 and a % 10 != 0 and a % 11 != 0) & ~df.index.isin(future)
    mismatched = _sample(rng, df.index[typo].tolist(), 4)
    df.loc[mismatched, "age"] = [int(str(a)[::-1]) for a in ages.loc[mismatched]]  # 47 -> 74
    df.loc[_sample(rng, df.index[ages >= 25].tolist(), 8), "last_reviewed"] = [
        _random_date(rng, date(2014, 1, 6), date(2019, 6, 28)).isoformat() for _ in range(8)
    ]
    df.loc[_sample(rng, df.index.tolist(), 5), "lawful_basis"] = ""
    df.loc[_sample(rng, df.index.tolist(), 8), "special_category_condition"] = ""
    respelled = df["first_name"].isin(list(_SPELLINGS)) & ~df.index.isin(future + mismatched)
    duplicates = df.loc[_sample(rng, df.index[respelled].tolist(), 3)].copy()
    duplicates["first_name"] = duplicates["first_name"].map(_SPELLINGS)
    duplicates["last_reviewed"] = [_random_date(rng, *_RECENT).isoformat() for _ in range(3)]
    df = pd.concat([df, duplicates]).iloc[rng.permutation(120)].reset_index(drop=True)
    df.insert(0, "record_id", [f"CR{i:03d}" for i in range(1, 121)])
    return df


# ------------------------------------------------------------------ access_audit_log.csv

_TEAM_ROLES: dict[str, tuple[str, ...]] = {
    "children's services": (
        "team manager",
        *["social worker"] * 5,
        "admin officer",
        "student social worker",
    ),
    "adult social care": (
        "team manager",
        *["social worker"] * 4,
        *["occupational therapist"] * 3,
        "admin officer",
        "admin officer",
        "student social worker",
    ),
    "mental health": (
        "team manager",
        *["social worker"] * 3,
        "admin officer",
        "student social worker",
    ),
}
# role -> (actions, weighted by repetition; reasons; relative activity)
_ROLE_ACTIVITY: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {
    "social worker": (
        ("view",) * 6 + ("edit",) * 3 + ("print",),
        ("allocated case", "allocated case", "duty enquiry", "court report"),
        6,
    ),
    "team manager": (("view",) * 4 + ("edit",), ("supervision", "case audit"), 3),
    "admin officer": (
        ("view", "view", "print", "export"),
        ("subject access request", "court report", "multi-agency meeting"),
        2,
    ),
    "occupational therapist": (("view",) * 5 + ("edit",) * 3, ("allocated case",), 5),
    "student social worker": (("view",) * 5 + ("edit",), ("allocated case", "supervision"), 3),
}
_CROSS_TEAM_REASONS = ("duty enquiry", "multi-agency meeting")
_DAYS = tuple(date(2025, 11, 3) + timedelta(days=d) for d in range(28))
_WEEKDAYS = tuple(d for d in _DAYS if d.weekday() < 5)
_WORKING_HOURS = tuple(range(8, 18))
_NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4)


@dataclass(frozen=True)
class _Staff:
    """One member of staff in the audit log."""

    staff_id: str
    role: str
    team: str
    last_name: str


def _timestamp(rng: _Rng, days: Sequence[date], hours: Sequence[int]) -> datetime:
    """Draw a time to the second on one of ``days`` within one of ``hours``."""
    minute, second = (int(x) for x in rng.integers(60, size=2))
    return datetime.combine(_one(rng, days), time(_one(rng, hours), minute, second))


def _staff(rng: _Rng, records: pd.DataFrame) -> list[_Staff]:
    """Invent 25 staff; the first two share a surname with a record in their team."""
    posts = _sample(rng, [(r, t) for t, roles in _TEAM_ROLES.items() for r in roles], 25)
    posts.sort(key=lambda post: post[0] != "social worker")
    names = [last for _, last, _ in _people(rng, 25)]
    for i in (0, 1):
        names[i] = _one(rng, records.loc[records["service"] == posts[i][1], "last_name"].tolist())
    ids = _sample(rng, range(1, 26), 25)  # so staff IDs do not reveal who is who
    return [
        _Staff(f"S{i:02d}", role, team, name)
        for i, (role, team), name in zip(ids, posts, names, strict=True)
    ]


def _access_audit_log(rng: _Rng, records: pd.DataFrame) -> pd.DataFrame:
    """Build four weeks of record-access events, about 7% of them inappropriate."""
    staff = _staff(rng, records)

    def record(s: _Staff, in_team: bool) -> str:
        """Pick a record inside or outside the team, never one with the staff surname."""
        same_team = records["service"] == s.team
        pool = records.loc[(same_team == in_team) & (records["last_name"] != s.last_name)]
        ids: list[str] = pool["record_id"].tolist()
        return _one(rng, ids)

    def event(s: _Staff, record_id: str, action: str, reason: str, at: datetime) -> dict[str, str]:
        return {
            "timestamp": at.isoformat(),
            "staff_id": s.staff_id,
            "staff_last_name": s.last_name,
            "staff_role": s.role,
            "team": s.team,
            "record_id": record_id,
            "action": action,
            "recorded_reason": reason,
        }

    def working_hours() -> datetime:
        return _timestamp(rng, _WEEKDAYS, _WORKING_HOURS)

    def night() -> datetime:
        return _timestamp(rng, _DAYS, _NIGHT_HOURS)

    events: list[dict[str, str]] = []
    for s in _pick(rng, staff, 369, [_ROLE_ACTIVITY[s.role][2] for s in staff]):
        actions, reasons, _ = _ROLE_ACTIVITY[s.role]
        in_team = bool(rng.random() < 0.9)
        reason = _one(rng, reasons) if in_team else _one(rng, _CROSS_TEAM_REASONS)
        blank = in_team and bool(rng.random() < 0.08)  # careless but not suspicious
        events.append(
            event(
                s, record(s, in_team), _one(rng, actions), "" if blank else reason, working_hours()
            )
        )
    for s in _pick(rng, [s for s in staff if s.role == "social worker"], 4):
        events.append(event(s, record(s, True), "view", "emergency duty", night()))
    # Deliberately inappropriate access, discoverable by joining the log to the records.
    for s, k in ((staff[0], 3), (staff[1], 2)):
        own = records.loc[records["last_name"] == s.last_name, "record_id"].tolist()
        events.extend(event(s, r, "view", "", working_hours()) for r in _pick(rng, own, k))
    for s in _pick(rng, [s for s in staff if s.role != "student social worker"], 7):
        events.append(event(s, record(s, True), "view", "", night()))
    student = _one(rng, [s for s in staff if s.role == "student social worker"])
    start = _timestamp(rng, _WEEKDAYS, (15,))
    team_records: list[str] = records.loc[records["service"] == student.team, "record_id"].tolist()
    for i, r in enumerate(_sample(rng, team_records, 8)):
        events.append(event(student, r, "export", "", start + timedelta(minutes=3 * i)))
    for s in _pick(rng, [s for s in staff if s.role in ("social worker", "admin officer")], 7):
        events.append(event(s, record(s, False), "view", "", working_hours()))
    df = pd.DataFrame(events).sort_values(["timestamp", "staff_id"], kind="stable")
    df.insert(0, "event_id", [f"E{i:04d}" for i in range(1, len(df) + 1)])
    return _with_audit_columns(df.reset_index(drop=True), records)


def _with_audit_columns(log: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Add what an audit report shows beside each event: the hour of the timestamp, and the
    surname and service on the record opened (taken from the records, so every kind of
    inappropriate access can be found without joining two tables). Derived columns only: no
    random draw changes, so the events themselves are as before."""
    by_id = records.set_index("record_id")
    columns = list(log.columns)
    log.insert(columns.index("timestamp") + 1, "hour", log["timestamp"].str[11:13].astype(int))
    after = columns.index("record_id") + 2  # after record_id, which "hour" moved one along
    log.insert(after, "record_last_name", log["record_id"].map(by_id["last_name"]))
    log.insert(after + 1, "record_service", log["record_id"].map(by_id["service"]))
    return log


# ------------------------------------------------------------------ risk_scores.csv

_ETHNIC_GROUPS = ("White", "Asian", "Black", "Mixed", "Other")
_RELIGIONS = (
    "No religion",
    "Christian",
    "Muslim",
    "Hindu",
    "Sikh",
    "Jewish",
    "Buddhist",
    "Other religion",
    "not recorded",
)


_HARM_SHARE = 0.2  # the share of each ethnic group harmed within 12 months


def _even_split(rng: _Rng, cells: np.ndarray, values: tuple[str, str]) -> np.ndarray:
    """Give each row one of two `values`, half and half within every cell of `cells` (the odd
    row out at random), so that no rate computed within the cells differs between them."""
    out = np.empty(len(cells), dtype=object)
    for cell in sorted(set(cells.tolist())):
        rows = np.flatnonzero(cells == cell)
        half = len(rows) // 2 + int(rng.integers(2)) * (len(rows) % 2)
        out[rows] = _exact(rng, {values[0]: half, values[1]: len(rows) - half})
    return out


def _risk_scores(rng: _Rng) -> pd.DataFrame:
    """Build a risk-tool output in which prior contacts act as a biased proxy.

    Real need alone decides harm, and need does not depend on any recorded characteristic:
    every ethnic group has the same share harmed, and other groups about the same. Contact with
    services tracks need, but also being Black, living in the two most deprived deciles and
    having a disability (families of disabled children are in touch with services for
    support): the score, built on contacts, picks these up and so flags children in those
    groups who were not harmed more often. Sex is split evenly within each combination of flag
    and outcome, so the tool's errors do not differ by sex (the module's worked example: what
    no gap looks like).
    """
    n = 500
    ethnicity = np.array(_pick(rng, _ETHNIC_GROUPS, n, (58, 14, 15, 9, 4)))
    decile = np.array(_pick(rng, range(1, 11), n, (16, 14, 13, 11, 10, 9, 8, 7, 6, 6)))
    disability = np.array(_pick(rng, ("yes", "no"), n, (13, 87)))
    need = rng.normal(size=n)
    # Harm follows need; the same share of each ethnic group is harmed (the highest need plus
    # chance), so that a gap between groups in who is flagged cannot come from a gap in harm.
    severity = need + rng.normal(0, 0.6, n)
    harm = np.zeros(n, dtype=bool)
    for group in _ETHNIC_GROUPS:
        rows = np.flatnonzero(ethnicity == group)
        harm[rows[np.argsort(-severity[rows])[: round(_HARM_SHARE * len(rows))]]] = True
    # Contact with services tracks need, but also ethnicity, deprivation and disability (the bias).
    contact_rate = (
        np.clip(2 + 2 * need, 0.2, None)
        + 2 * (ethnicity == "Black")
        + 1.5 * (decile <= 2)
        + 1.2 * (disability == "yes")
    )
    prior_contacts = rng.poisson(contact_rate)
    score = np.clip(np.rint(22 + 9 * prior_contacts + rng.normal(0, 6, n)), 0, 100).astype(int)
    flagged = score >= 70
    return pd.DataFrame(
        {
            "person_id": [f"P{i:04d}" for i in range(1, n + 1)],
            "age_band": _pick(rng, ("0-4", "5-9", "10-14", "15-17"), n, (30, 25, 28, 17)),
            "sex": _even_split(rng, 2 * flagged + harm, ("female", "male")),
            "ethnicity": ethnicity,
            "disability": disability,
            "religion": _pick(rng, _RELIGIONS, n, (40, 30, 12, 4, 3, 1, 1, 2, 7)),
            "postcode_deprivation_decile": decile,
            "prior_contacts": prior_contacts,
            "risk_score": score,
            "flagged_high_risk": np.where(flagged, "yes", "no"),
            "harm_within_12_months": np.where(harm, "yes", "no"),
        }
    )


# ------------------------------------------------------------------ practitioner_survey.csv


def _practitioner_survey(rng: _Rng) -> pd.DataFrame:
    """Build 648 responses matching the SCIE/BASW (2019) survey's headline shares."""
    return pd.DataFrame(
        {
            "respondent_id": range(1, 649),
            "role": _exact(
                rng, {"children and families": 262, "adults": 218, "mental health": 92, "other": 76}
            ),
            "years_qualified": _exact(
                rng, {"0-2": 88, "3-5": 121, "6-10": 147, "11-20": 172, "21+": 120}
            ),
            "education_addressed_digital": _exact(rng, {"yes": 71, "no": 577}),
            "training_helpfulness": _exact(
                rng, {"helpful": 198, "unhelpful": 340, "no opinion": 110}
            ),
            "tech_training_last_2_years": _exact(
                rng, {"none": 175, "once or twice": 356, "three or more times": 117}
            ),
            "self_rated_skills": _exact(
                rng, {"very good": 201, "good": 305, "fair": 120, "poor": 22}
            ),
        }
    )


# ------------------------------------------------------------------ support_groups.csv

_GROUPS_FILE = Path(__file__).resolve().parent / "support_groups.yml"
_GROUPS = yaml.safe_load(_GROUPS_FILE.read_text(encoding="utf-8"))
# column -> (values that meet the quality criteria, values that fail them)
_QUALITY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "moderated": (("yes",), ("no",)),
    "run_by": (("charity", "NHS trust", "peer-led"), ("commercial company", "unknown")),
    "safeguarding_policy": (("yes",), ("no",)),
    "privacy_policy": (("yes",), ("no",)),
    "data_shared_with_advertisers": (("no",), ("yes", "unknown")),
    "evidence": (("independent evaluation", "member survey"), ("none published",)),
    "accessibility": (("screen-reader tested", "captions", "easy read"), ("none stated",)),
    "cost": (("free",), ("subscription", "free with adverts")),
}
# platform -> when its groups meet (written groups can be read and joined at any time)
_MEETS: dict[str, tuple[str, ...]] = {
    "video meeting": ("weekday daytime", "weekday daytime", "evenings", "evenings", "weekends"),
    "text chat": ("weekday daytime", "evenings"),
    "forum": ("any time",),
    "app": ("any time",),
    "closed social media group": ("any time",),
}


def _support_group(rng: _Rng, tier: str) -> dict[str, str]:
    """Invent quality features for a 'good', 'poor' or 'mixed' group."""
    meets = {
        col: tier == "good" or (tier == "mixed" and bool(rng.random() < 0.5)) for col in _QUALITY
    }
    row = {col: _one(rng, _QUALITY[col][0 if ok else 1]) for col, ok in meets.items()}
    recent = tier == "good" or (tier == "mixed" and bool(rng.random() < 0.5))
    start, end = (
        (date(2025, 10, 1), date(2025, 12, 19)) if recent else (date(2025, 1, 6), date(2025, 5, 30))
    )
    return {**row, "last_active": _random_date(rng, start, end).isoformat()}


def _support_groups(rng: _Rng) -> pd.DataFrame:
    """Build a directory of fictional online support groups of varying quality, in no
    particular order, with an invented name for each (see `support_groups.yml`)."""
    audiences = [a for a in _GROUPS["audiences"] for _ in range(int(a["groups"]))]
    order = _sample(rng, audiences, len(audiences))
    weights = _GROUPS["platform_weights"]
    platforms = _pick(rng, list(weights), len(order), list(weights.values()))
    n = len(order)
    tiers = _exact(rng, {"good": n // 3, "mixed": n // 3, "poor": n - 2 * (n // 3)})
    used: set[str] = set()
    rows = []
    for i, (audience, platform, tier) in enumerate(zip(order, platforms, tiers, strict=True), 1):
        names = [
            f"{word} {audience['label']} {end}"
            for word in _GROUPS["name_words"]
            for end in _GROUPS["platform_words"][platform]
        ]
        name = _one(rng, [name for name in names if name not in used])
        used.add(name)
        quality = _support_group(rng, tier)
        rows.append({
            "group_id": f"G{i:03d}",
            "name": name,
            "audience": audience["audience"],
            "platform": platform,
            "meets": _one(rng, _MEETS[platform]),
            **{col: quality[col] for col in _QUALITY},
            "last_active": quality["last_active"],
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ public API


def build_datasets() -> dict[str, pd.DataFrame]:
    """Return every synthetic data set, keyed by file stem."""
    records = _case_records(_rng("case_records"))
    return {
        "referrals": _referrals(_rng("referrals")),
        "case_records": records,
        "access_audit_log": _access_audit_log(_rng("access_audit_log"), records),
        "risk_scores": _risk_scores(_rng("risk_scores")),
        "practitioner_survey": _practitioner_survey(_rng("practitioner_survey")),
        "support_groups": _support_groups(_rng("support_groups")),
    }


def write_datasets(out_dir: Path) -> list[Path]:
    """Write each data set to ``out_dir/<stem>.csv`` and return the paths, sorted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, df in build_datasets().items():
        path = out_dir / f"{stem}.csv"
        df.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return sorted(paths)
