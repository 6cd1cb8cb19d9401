"""Time a student's "Run All" of each complete module's solution notebook.

Usage: .venv/bin/python benchmarks/run_all.py [--repeat N]
Prints one line per module: the median wall-clock seconds of N fresh-kernel runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from digiready.course.curriculum import load_curriculum
from digiready.course.paths import CourseLayout

REPO = CourseLayout(Path(__file__).resolve().parents[1])


def run_all_seconds(notebook: Path) -> float:
    """Execute the notebook top to bottom in a fresh kernel, in a scratch copy of its folder
    (so files it writes, such as a saved CPD plan, stay out of solutions/)."""
    scratch = Path(tempfile.mkdtemp(prefix="run-all-")) / notebook.parent.name
    shutil.copytree(notebook.parent, scratch)
    notebook = scratch / notebook.name
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    for module in load_curriculum(REPO.curriculum).complete_modules:
        notebook = REPO.module_notebook(REPO.solutions, module.id)
        times = [run_all_seconds(notebook) for _ in range(repeat)]
        print(
            f"{module.id}: median {statistics.median(times):.1f} s over {repeat} runs "
            f"(min {min(times):.1f}, max {max(times):.1f})"
        )


if __name__ == "__main__":
    main()
