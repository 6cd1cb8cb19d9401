"""Time the readiness report on a synthetic cohort: 5,000 students × 18 modules × 10 items.

Usage: .venv/bin/python benchmarks/report_speed.py [--students N] [--seed S]
Prints the wall-clock seconds of readiness_levels, module_scores, item_analysis (with answers)
and write_report without and with the per-student pages. The data are made with a fixed seed:
each student has an ability, each item a difficulty; the last item of each module is a manual
reflection, 10% of them still pending.

Recorded on the 2-core development machine (900,000 score rows, seed 2020):
readiness_levels 0.43 s; module_scores 0.18 s; item_analysis with answers 1.0 s;
write_report 4.0–4.3 s without student pages, 6.0–9.1 s with 5,000 pages (file writing varies).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from digiready.course.curriculum import Curriculum, load_curriculum
from digiready.course.paths import CourseLayout
from digiready.reporting.readiness import item_analysis, module_scores, readiness_levels
from digiready.reporting.report import write_report
from digiready.student.self_audit import Ratings

REPO = CourseLayout(Path(__file__).resolve().parents[1])
ITEMS_PER_MODULE = 10
LETTERS = np.array(["'a'", "'b'", "'c'", "'d'", "(blank)"])
T = TypeVar("T")


def synthetic_scores(curriculum: Curriculum, students: int, seed: int) -> pd.DataFrame:
    """A tidy score table (as `cohort_scores.load_scores` makes) for modules 01–18."""
    rng = np.random.default_rng(seed)
    modules = [m for m in curriculum.modules if m.id != "00-self-audit"]
    items = pd.DataFrame(
        [
            {
                "module": module.id,
                "grade_id": f"m{module.number}_q{number}_test",
                "kind": "manual" if number == ITEMS_PER_MODULE else "auto",
                "capability": module.capabilities[number % len(module.capabilities)],
                "level": 1 + number % 4,
                "max_score": float(1 + number % 3),
            }
            for module in modules
            for number in range(1, ITEMS_PER_MODULE + 1)
        ]
    )
    ids = np.array([f"{number:07d}" for number in range(1, students + 1)], dtype=object)
    ability = rng.normal(size=students)
    difficulty = rng.normal(size=len(items)) + items["level"].to_numpy() * 0.4 - 1.0
    chance = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :])))
    right = rng.random(chance.shape) < chance
    table = items.loc[np.tile(np.arange(len(items)), students)].reset_index(drop=True)
    table.insert(0, "student", np.repeat(ids, len(items)))
    score = right.ravel() * table["max_score"].to_numpy()
    pending = (table["kind"] == "manual").to_numpy() & (rng.random(len(table)) < 0.1)
    table["score"] = np.where(pending, np.nan, score)
    table["needs_manual_grade"] = pending
    return table


def synthetic_answers(scores: pd.DataFrame, seed: int) -> pd.DataFrame:
    """An answer per automatic item: "'b'" when full marks, else a random wrong letter."""
    rng = np.random.default_rng(seed)
    auto = scores[scores["kind"] == "auto"]
    wrong = LETTERS[rng.choice([0, 2, 3, 4], size=len(auto))]
    answer = np.where(auto["score"] == auto["max_score"], "'b'", wrong)
    return auto[["student", "module", "grade_id"]].assign(answer=answer)


def synthetic_ratings(curriculum: Curriculum, students: list[str], seed: int) -> dict[str, Ratings]:
    """A self-audit (now, needed) per capability for every student."""
    rng = np.random.default_rng(seed)
    ids = [c.id for c in curriculum.capabilities]
    now = rng.integers(1, 5, size=(len(students), len(ids)))
    return {
        student: {key: (int(level), 4) for key, level in zip(ids, row, strict=True)}
        for student, row in zip(students, now, strict=True)
    }


def timed(label: str, action: Callable[[], T]) -> T:
    """Run `action`, print its wall-clock time, return its result."""
    start = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2020)
    arguments = parser.parse_args()
    curriculum = load_curriculum(REPO.curriculum)
    scores = timed(
        "synthesise scores",
        lambda: synthetic_scores(curriculum, arguments.students, arguments.seed),
    )
    answers = synthetic_answers(scores, arguments.seed)
    ratings = synthetic_ratings(curriculum, list(scores["student"].unique()), arguments.seed)
    print(f"{len(scores):,} score rows, {scores['student'].nunique():,} students")
    timed("readiness_levels", lambda: readiness_levels(scores))
    timed("module_scores", lambda: module_scores(scores))
    timed("item_analysis (with answers)", lambda: item_analysis(scores, answers))
    with tempfile.TemporaryDirectory() as folder:
        for pages in (False, True):
            path = timed(
                f"write_report ({'with' if pages else 'without'} student pages)",
                partial(
                    write_report,
                    scores,
                    curriculum,
                    Path(folder) / f"pages-{pages}",
                    self_ratings=ratings,
                    answers=answers,
                    student_pages=pages,
                ),
            )
            print(f"  report.html {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
