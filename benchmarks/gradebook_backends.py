"""Grading throughput with 1, 2 and 4 workers into a SQLite and a PostgreSQL gradebook.

Usage: .venv/bin/python benchmarks/gradebook_backends.py [--module 09-online-safeguarding]
       [--size 30] [--workers 1 2 4]
The same synthetic cohort of one module is graded (`digiready grade`, sandboxed) into each
gradebook with each number of workers; PostgreSQL is a throwaway server from Debian's package
(tests/postgres_harness.py). Prints seconds, submissions per minute and whether the scores equal
SQLite's with one worker. With --memory it prints instead what one student costs a hub: the
resident memory of a JupyterLab server that has loaded /lab, and of a kernel after the module's
Run All. Nothing is asserted: record the figures (and `uptime`) in the README.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from digiready.course.paths import CourseLayout
from digiready.data.synthetic_cohort import cohort, write_submissions
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import grade_cohort
from digiready.grading.nbgrader_run import gradebook_url
from digiready.reporting.cohort_scores import load_scores

REPO = CourseLayout(Path(__file__).resolve().parents[1])
sys.path.insert(0, str(REPO.root / "tests"))
from postgres_harness import postgres_server  # noqa: E402


def _graded(root: Path, module: str, size: int, workers: int) -> tuple[float, dict[object, float]]:
    """Seconds to grade the cohort in a new course root, and the scores it gave."""
    prepare_course(REPO, [module], root)
    release = REPO.module_notebook(REPO.release, module)
    solution = REPO.module_notebook(REPO.solutions, module)
    write_submissions(root, module, release, solution, cohort(size))
    start = time.perf_counter()
    outcomes = grade_cohort(root, module, workers=workers)
    seconds = time.perf_counter() - start
    assert all(o.status == "graded" for o in outcomes), outcomes
    table = load_scores(gradebook_url(root), REPO, [module])
    return seconds, {
        (row.student, row.grade_id): -1.0 if math.isnan(row.score) else row.score
        for row in table.itertuples()
    }


def _mebibytes(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def student_memory(module: str) -> None:
    """Print the resident memory of a kernel after Run All and of a JupyterLab server."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch, module)
        shutil.copytree(REPO.module_notebook(REPO.solutions, module).parent, folder)
        notebook = nbformat.read(folder / f"{module}.ipynb", as_version=4)
        client = NotebookClient(
            notebook, timeout=120, resources={"metadata": {"path": str(folder)}}
        )
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            kernel = _mebibytes(client.km.provisioner.process.pid)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        token = secrets.token_hex(8)
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={folder}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}").read()
                    break
                except OSError:
                    time.sleep(0.3)
            time.sleep(2)
            server = _mebibytes(lab.pid)
        finally:
            lab.terminate()
            lab.wait()
    print(f"{module}: kernel after Run All {kernel:.0f} MiB, JupyterLab server {server:.0f} MiB, "
          f"one active student {kernel + server:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", default="09-online-safeguarding")
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--memory", action="store_true", help="what one student costs a hub")
    args = parser.parse_args()
    if args.memory:
        student_memory(args.module)
        return
    print(f"cores: {os.cpu_count()}, load before: {os.getloadavg()[0]:.2f}, module "
          f"{args.module}, {args.size} students")
    reference: dict[object, float] | None = None
    with postgres_server() as server, tempfile.TemporaryDirectory() as scratch:
        for workers in args.workers:
            for backend in ("sqlite", "postgresql"):
                if backend == "postgresql":
                    os.environ["DIGIREADY_DB_URL"] = server.create_database(f"bench{workers}")
                else:
                    os.environ.pop("DIGIREADY_DB_URL", None)
                root = Path(scratch, f"{backend}-{workers}")
                seconds, scores = _graded(root, args.module, args.size, workers)
                reference = scores if reference is None else reference
                print(f"{backend:10} {workers} worker(s): {seconds:6.1f} s, "
                      f"{60 * args.size / seconds:5.1f} submissions/min, "
                      f"scores equal: {scores == reference}, load: {os.getloadavg()[0]:.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
