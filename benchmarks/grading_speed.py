"""`nbgrader autograde` and `digiready grade` side by side on the same synthetic cohort.

Usage: .venv/bin/python benchmarks/grading_speed.py [--sizes 40 300] [--workers 2]
       [--modules 09-online-safeguarding]
Each side runs as the lecturer runs it (`nbgrader autograde MODULE`; `digiready grade MODULE
--workers N --force`) in its own copy of the course, and in a cgroup of its own, so its CPU
time counts every process it starts, the sandboxed kernels included (without a writable
cgroup, the CPU of the processes their parents reaped: sandboxed kernels are then missed, and
the line says so). Each side also grades a one-student cohort: the fixed start-up is that
run less one student, the cost per student is the difference to the full cohort divided by the
students added. Scores are compared item by item. The load average is printed before and after
each run: figures taken under other load are slowed. Nothing is asserted: record the figures in
benchmarks/grading_speed.results.txt and the README.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from digiready.course.paths import CourseLayout
from digiready.data.synthetic_cohort import cohort, write_submissions
from digiready.grading.autograde import prepare_course
from digiready.grading.nbgrader_run import gradebook_url
from digiready.reporting.cohort_scores import load_scores

REPO = CourseLayout(Path(__file__).resolve().parents[1])
BIN = Path(sys.executable).parent
CGROUPS = (Path("/sys/fs/cgroup/cpuacct"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    cgroup: bool  # CPU counted by a cgroup (every process), not by getrusage
    load: tuple[float, float]  # 1-minute load average before and after


def _course(root: Path, module: str, size: int) -> None:
    """A course root with `size` synthetic submissions of `module`, runnable by both tools."""
    prepare_course(REPO, [module], root)
    shutil.copy(REPO.curriculum, CourseLayout(root).curriculum)
    release = REPO.module_notebook(REPO.release, module)
    solution = REPO.module_notebook(REPO.solutions, module)
    write_submissions(root, module, release, solution, cohort(size))


def _cgroup_usage(group: Path) -> float:
    """CPU seconds used by everything that ran in `group` (cgroup v1 cpuacct or v2)."""
    if (group / "cpuacct.usage").exists():
        return int((group / "cpuacct.usage").read_text()) / 1e9
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


@contextlib.contextmanager
def _cgroup(name: str) -> Iterator[Path | None]:
    """A fresh cgroup to run one side in (None where none can be made)."""
    for base in CGROUPS:
        group = base / f"digiready-bench-{os.getpid()}-{name}"
        try:
            group.mkdir()
        except OSError:
            continue
        if (group / "cpuacct.usage").exists() or (group / "cpu.stat").exists():
            try:
                yield group
            finally:
                with contextlib.suppress(OSError):
                    group.rmdir()
            return
        group.rmdir()
    yield None


def _timed(command: list[str], root: Path, name: str) -> Run:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    before = os.getloadavg()[0]
    with _cgroup(name) as group:
        def enter() -> None:
            if group is not None:
                (group / "cgroup.procs").write_text(str(os.getpid()))

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=root, env=env, check=True, preexec_fn=enter,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if group is not None:
            time.sleep(0.2)  # the last reaped processes' time reaches the group's counter
            cpu = _cgroup_usage(group)
        else:
            cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return Run(wall, cpu, group is not None, (before, os.getloadavg()[0]))


def _scores(root: Path, module: str) -> dict[tuple[str, str], float | None]:
    table = load_scores(gradebook_url(root), REPO, [module])
    # a pending manual grade is NaN, which never equals itself: compare it as None
    return {
        (row.student, row.grade_id): None if math.isnan(row.score) else row.score
        for row in table.itertuples()
    }


def _side(tool: str, scratch: Path, module: str, size: int, workers: int) -> tuple[Run, Path]:
    root = scratch / f"{tool}-{size}"
    _course(root, module, size)
    command = (["nbgrader", "autograde", module] if tool == "nbgrader" else
               [str(BIN / "digiready"), "grade", module, "--workers", str(workers), "--force"])
    return _timed(command, root, f"{tool}-{size}"), root


def _line(label: str, run: Run, one: Run, size: int) -> str:
    per_student = (run.wall - one.wall) / max(size - 1, 1)
    counted = "" if run.cgroup else " (no cgroup: sandboxed kernels' CPU not counted)"
    return (f"  {label}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU{counted}; start-up "
            f"{one.wall - per_student:.1f} s, then {per_student:.2f} s wall and "
            f"{(run.cpu - one.cpu) / max(size - 1, 1):.2f} s CPU per student "
            f"(load {run.load[0]:.1f} -> {run.load[1]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 300])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modules", nargs="+", default=["09-online-safeguarding"])
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, cores: {os.cpu_count()}, digiready "
          f"workers: {args.workers}, sandboxed kernels", flush=True)
    for module in args.modules:
        with tempfile.TemporaryDirectory(prefix="grading-speed-") as folder:
            scratch = Path(folder)
            ones = {tool: _side(tool, scratch, module, 1, args.workers)[0]
                    for tool in ("nbgrader", "digiready")}
            for size in args.sizes:
                plain, plain_root = _side("nbgrader", scratch, module, size, args.workers)
                ours, ours_root = _side("digiready", scratch, module, size, args.workers)
                theirs, mine = _scores(plain_root, module), _scores(ours_root, module)
                differing = sum(theirs.get(key) != mine.get(key) for key in {*theirs, *mine})
                print(f"{module}, {size} students: {plain.wall / ours.wall:.2f}x faster "
                      f"(wall), {plain.cpu / ours.cpu:.2f}x less CPU; {len(theirs)} item scores, "
                      f"identical: {theirs == mine} ({differing} differ)", flush=True)
                print(_line("nbgrader autograde", plain, ones["nbgrader"], size), flush=True)
                print(_line(f"digiready grade --workers {args.workers}", ours,
                            ones["digiready"], size), flush=True)
                shutil.rmtree(plain_root)
                shutil.rmtree(ours_root)


if __name__ == "__main__":
    main()
