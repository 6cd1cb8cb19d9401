"""A cohort's readiness from its tidy score table (`cohort_scores.load_scores`): pure pandas.

Everywhere here a mark still pending a manual grade (score NaN) counts as neither earned nor
available: levels, percentages and item statistics describe what has been marked so far.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from digiready.course.curriculum import Curriculum, Pathway

LEVELS = (1, 2, 3, 4)
ITEM_KEYS = ["module", "grade_id"]
TOP_WRONG = 3
MIN_ITEMS = 2  # a level is claimed only on this many marked items at that level
MIN_POINTS = 4.0  # worth at least this many points together
_TOLERANCE = 1e-9  # so that a threshold met exactly is not missed by float rounding

Ratings = Mapping[str, tuple[int, int]]


def _marked(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows whose mark is known (not waiting for a manual grade)."""
    return scores[scores["score"].notna()]


def readiness_levels(
    scores: pd.DataFrame,
    threshold: float = 0.6,
    min_items: int = MIN_ITEMS,
    min_points: float = MIN_POINTS,
) -> pd.DataFrame:
    """Assessed HEE level (0–4) per student (rows) and capability (columns).

    The level is the highest L such that the student has enough marked evidence at level L
    itself (at least `min_items` items worth at least `min_points` points together) and has
    earned at least `threshold` of all the points available for the capability at levels 1 to L
    together. Level 0 means evidence exists but no level is reached yet; NA means the student
    has no marked item for the capability (not assessed). Items pending a manual grade are left
    out of both the points earned and the points available until they are marked; completion
    items carry no capability or level in the score table, so they are never evidence.
    """
    tagged = scores[scores["capability"].notna() & scores["level"].isin(LEVELS)]
    marked = _marked(tagged)
    grouped = marked.assign(level=marked["level"].astype(int)).groupby(
        ["student", "capability", "level"]
    )
    sums = grouped[["score", "max_score"]].sum()
    earned = _by_level(sums["score"])
    available = _by_level(sums["max_score"])
    items = _by_level(grouped.size().astype(float)).reindex(available.index)
    sufficient = (items.to_numpy() >= min_items) & (
        available.to_numpy() + _TOLERANCE >= min_points
    )
    reached = sufficient & (
        earned.cumsum(axis="columns").to_numpy() + _TOLERANCE
        >= threshold * available.cumsum(axis="columns").to_numpy()
    )
    highest = (reached * np.array(LEVELS)).max(axis=1, initial=0)
    assessed = (available.to_numpy() > 0).any(axis=1)
    level = pd.Series(np.where(assessed, highest, np.nan), index=earned.index)
    students = pd.Index(sorted(scores["student"].unique()), name="student")
    capabilities = pd.Index(sorted(tagged["capability"].unique()), name="capability")
    table: pd.DataFrame = level.unstack("capability")
    return table.reindex(index=students, columns=capabilities).astype("Int64")


def _by_level(points: pd.Series) -> pd.DataFrame:
    """Points indexed by (student, capability, level) as one column per level 1–4."""
    table: pd.DataFrame = points.unstack("level")
    return table.reindex(columns=list(LEVELS)).fillna(0.0)


def module_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per student and module: points earned and available (marked items only), the percent,
    and how many items are pending a manual grade."""
    marked = scores["score"].notna()
    table = (
        scores.assign(
            earned=scores["score"].where(marked, 0.0),
            available=scores["max_score"].where(marked, 0.0),
            pending_manual=~marked,
        )
        .groupby(["student", "module"])[["earned", "available", "pending_manual"]]
        .sum()
        .reset_index()
    )
    percent = 100 * table["earned"] / table["available"].where(table["available"] > 0)
    table.insert(4, "percent", percent)
    return table.astype({"pending_manual": int})


def _item_rest_correlation(item: pd.Series, score: pd.Series, rest: pd.Series) -> pd.Series:
    """Per item code, the Pearson correlation of its score with the rest-of-module total;
    NaN when either does not vary."""
    x = score - score.groupby(item).transform("mean")
    y = rest - rest.groupby(item).transform("mean")
    sums = pd.DataFrame({"xy": x * y, "xx": x * x, "yy": y * y}).groupby(item).sum()
    spread = (sums["xx"] * sums["yy"]).pow(0.5)
    return sums["xy"] / spread.where(spread > _TOLERANCE)


def common_wrong_answers(
    scores: pd.DataFrame, answers: pd.DataFrame, top: int = TOP_WRONG
) -> pd.DataFrame:
    """Per item, the `top` commonest answers of students who did not get full marks, with
    counts (columns wrong_answer_1, wrong_count_1, …); ties go to the alphabetically first."""
    marked = _marked(scores)
    wrong = marked.loc[marked["score"] < marked["max_score"], ["student", *ITEM_KEYS]]
    joined = wrong.merge(answers[["student", *ITEM_KEYS, "answer"]], on=["student", *ITEM_KEYS])
    counts = (
        joined.groupby([*ITEM_KEYS, "answer"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values([*ITEM_KEYS, "count", "answer"], ascending=[True, True, False, True])
    )
    counts["rank"] = counts.groupby(ITEM_KEYS).cumcount() + 1
    chosen = counts[counts["rank"] <= top]
    wide = pd.concat(
        [
            chosen.pivot(index=ITEM_KEYS, columns="rank", values=field).add_prefix(
                f"wrong_{field}_"
            )
            for field in ("answer", "count")
        ],
        axis="columns",
    )
    columns = [
        f"wrong_{field}_{rank}" for rank in range(1, top + 1) for field in ("answer", "count")
    ]
    counts_columns = {f"wrong_count_{rank}": "Int64" for rank in range(1, top + 1)}
    return wide.reindex(columns=columns).astype(counts_columns)


def item_analysis(scores: pd.DataFrame, answers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per graded item: module, grade_id, capability, level, max, n (students marked), facility
    (mean score / max) and discrimination.

    Discrimination is the corrected item-total correlation: the Pearson correlation, over the
    students marked on the item, between the item's score and the total of the student's other
    marked items in the same module (the item itself left out). For right/wrong items it is the
    point-biserial correlation. With `answers` (from `answers.student_answers`), the commonest
    wrong answers are added (see `common_wrong_answers`).
    """
    item = scores.groupby(ITEM_KEYS, sort=False).ngroup()  # integer codes: fast to group by
    first = ~item.duplicated()
    table = scores.loc[first, [*ITEM_KEYS, "capability", "level"]].set_axis(item[first])
    table["level"] = table["level"].astype("Int64")
    table["max"] = scores["max_score"].groupby(item).max()
    marked = scores["score"].notna()
    code, score = item[marked], scores["score"][marked]
    student_module = scores.groupby(["student", "module"], sort=False).ngroup()[marked]
    rest = score.groupby(student_module).transform("sum") - score
    table["n"] = score.groupby(code).size().reindex(table.index, fill_value=0)
    table["facility"] = score.groupby(code).mean() / table["max"].where(table["max"] > 0)
    table["discrimination"] = _item_rest_correlation(code, score, rest)
    table = table.set_index(ITEM_KEYS)
    if answers is not None:
        table = table.join(common_wrong_answers(scores, answers))
    return table.reset_index()


def weakest_capabilities(levels: pd.DataFrame, target_level: int = 2) -> pd.DataFrame:
    """Per capability across the cohort: students assessed, mean level, how many and what share
    are below `target_level`; weakest (lowest mean level) first, never-assessed last."""
    assessed = levels.notna().sum()
    below = levels.lt(target_level).fillna(False).sum()
    table = pd.DataFrame(
        {
            "capability": levels.columns,
            "assessed": assessed.to_numpy(),
            "mean_level": levels.astype("Float64").mean().astype(float).to_numpy(),
            "below_target": below.to_numpy(),
            "share_below_target": (below / assessed.where(assessed > 0)).to_numpy(),
        }
    )
    return table.sort_values(
        ["mean_level", "share_below_target", "capability"],
        ascending=[True, False, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


def _long(levels: pd.DataFrame) -> pd.DataFrame:
    """The levels table as rows of student, capability, level (NA kept)."""
    return (
        levels.rename_axis(index="student", columns="capability")
        .reset_index()
        .melt(id_vars="student", var_name="capability", value_name="level")
    )


def _joined(values: pd.Series) -> str:
    return "; ".join(values)


def not_yet_ready(
    levels: pd.DataFrame,
    target_level: int = 2,
    pathway_capabilities: Collection[str] | None = None,
) -> pd.DataFrame:
    """Students assessed below `target_level` in at least one capability (only those in
    `pathway_capabilities` when given), for tutor follow-up: how many, the lowest level, which
    (as "capability (level)"), and the considered capabilities not assessed yet. Students with
    the most capabilities below target come first."""
    chosen = (
        levels
        if pathway_capabilities is None
        else levels.reindex(columns=list(pathway_capabilities)).astype("Int64")
    )
    long = _long(chosen)
    below = long[long["level"].lt(target_level).fillna(False)]
    missing = long[long["level"].isna()]
    table = below.groupby("student", sort=False).agg(
        below_target=("capability", "size"), lowest_level=("level", "min")
    )
    table["capabilities"] = (
        (below["capability"] + " (" + below["level"].astype(str) + ")")
        .groupby(below["student"], sort=False)
        .agg(_joined)
    )
    not_assessed = missing.groupby("student", sort=False)["capability"].agg(_joined)
    table["not_assessed"] = not_assessed.reindex(table.index).fillna("")
    return (
        table.reset_index()
        .sort_values(["below_target", "lowest_level", "student"], ascending=[False, True, True])
        .reset_index(drop=True)
        .astype({"below_target": int, "lowest_level": int})
    )


def confidence_vs_competence(
    levels: pd.DataFrame, self_ratings: Mapping[str, Ratings]
) -> pd.DataFrame:
    """Per student and self-rated capability: the self-rating now (and needed for the role),
    the assessed level, difference = self-rated minus assessed, and a judgement:
    "over-confident" (difference > 0), "under-confident" (< 0), "matches" or "not assessed"."""
    rows = [
        (student, capability, now, needed)
        for student, ratings in self_ratings.items()
        for capability, (now, needed) in ratings.items()
    ]
    frame = pd.DataFrame(rows, columns=["student", "capability", "self_rated", "needed"])
    assessed = _long(levels).rename(columns={"level": "assessed"})
    frame = frame.merge(assessed, on=["student", "capability"], how="left").astype(
        {"self_rated": "Int64", "needed": "Int64", "assessed": "Int64"}
    )
    frame["difference"] = frame["self_rated"] - frame["assessed"]
    difference = frame["difference"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    frame["judgement"] = np.select(
        [np.isnan(difference), difference > 0, difference < 0],
        ["not assessed", "over-confident", "under-confident"],
        default="matches",
    )
    return frame


def find_pathway(curriculum: Curriculum, pathway_id: str) -> Pathway:
    """The pathway with this id; KeyError lists the known ones when unknown."""
    for candidate in curriculum.pathways:
        if candidate.id == pathway_id:
            return candidate
    known = ", ".join(p.id for p in curriculum.pathways)
    raise KeyError(f"no pathway {pathway_id!r} in curriculum.yml (known: {known})")


def pathway_capabilities(curriculum: Curriculum, pathway_id: str) -> list[str]:
    """The capabilities the pathway's modules (required and optional) cover, in curriculum
    order."""
    chosen = find_pathway(curriculum, pathway_id)
    covered = {
        capability
        for module in curriculum.modules
        if module.id in chosen.required + chosen.optional
        for capability in module.capabilities
    }
    return [c.id for c in curriculum.capabilities if c.id in covered]


def filter_pathway(scores: pd.DataFrame, curriculum: Curriculum, pathway_id: str) -> pd.DataFrame:
    """The score rows of the pathway's modules (required and optional) only."""
    chosen = find_pathway(curriculum, pathway_id)
    return scores[scores["module"].isin(chosen.required + chosen.optional)]


def module_reliability(scores: pd.DataFrame) -> pd.DataFrame:
    """Per module: items, students with every item marked, and Cronbach's alpha (equal to
    KR-20 when every item is scored right or wrong), as Moodle's quiz statistics report it:
    k/(k-1) × (1 − sum of item variances / variance of the totals), over students with every
    item of the module marked; NaN with fewer than two items or students, or no spread."""
    rows = []
    for module, group in scores.groupby("module", sort=True):
        wide = group.pivot_table(
            index="student", columns="grade_id", values="score", aggfunc="first", dropna=False
        ).dropna()
        items, students = wide.shape[1], wide.shape[0]
        alpha = float("nan")
        if items >= 2 and students >= 2:
            total = float(wide.sum(axis="columns").var(ddof=1))
            if total > _TOLERANCE:
                spread = float(wide.var(ddof=1).sum())
                alpha = items / (items - 1) * (1 - spread / total)
        rows.append((module, items, students, alpha))
    return pd.DataFrame(rows, columns=["module", "items", "students_complete", "alpha"])
