"""Grade the same synthetic cohort with `nbgrader autograde` and with `digiready grade`.

Usage: .venv/bin/python benchmarks/grading_speed.py [--sizes 40 80] [--workers 2]
       [--kernels sandboxed forked]
For each complete module and cohort size it prints both wall-clock times, their ratio, and
whether every item score is identical. Nothing is asserted: record the figures in the README.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digiready.course.curriculum import load_curriculum
from digiready.course.paths import CourseLayout
from digiready.data.synthetic_cohort import cohort, write_submissions
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import grade_cohort
from digiready.grading.nbgrader_run import gradebook_url
from digiready.reporting.cohort_scores import load_scores

REPO = CourseLayout(Path(__file__).resolve().parents[1])


def _course(root: Path, module: str, size: int) -> None:
    prepare_course(REPO, [module], root)
    release = REPO.module_notebook(REPO.release, module)
    solution = REPO.module_notebook(REPO.solutions, module)
    write_submissions(root, module, release, solution, cohort(size))


def _nbgrader_seconds(root: Path, module: str) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    subprocess.run(
        ["nbgrader", "autograde", module],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _scores(root: Path, module: str) -> dict[tuple[str, str], float | None]:
    table = load_scores(gradebook_url(root), REPO, [module])
    # a pending manual grade is NaN, which never equals itself: compare it as None
    return {
        (row.student, row.grade_id): None if math.isnan(row.score) else row.score
        for row in table.itertuples()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 80])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kernels", nargs="+", default=["sandboxed"],
                        choices=["sandboxed", "forked", "plain"])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, kernels: {args.kernels}")
    for module in [m.id for m in load_curriculum(REPO.curriculum).complete_modules]:
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as scratch:
                plain, ours = Path(scratch, "nbgrader"), Path(scratch, "digiready")
                _course(plain, module, size)
                _course(ours, module, size)
                nbgrader_time = _nbgrader_seconds(plain, module)
                for kernels in args.kernels:
                    start = time.perf_counter()
                    grade_cohort(ours, module, workers=args.workers, force=True, kernels=kernels)
                    ours_time = time.perf_counter() - start
                    same = _scores(plain, module) == _scores(ours, module)
                    print(
                        f"{module}, {size} students: nbgrader autograde {nbgrader_time:.1f} s, "
                        f"digiready grade ({kernels}) {ours_time:.1f} s, "
                        f"{nbgrader_time / ours_time:.2f}x faster, scores identical: {same}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
