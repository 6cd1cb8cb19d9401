"""The grading workers' fork server, started before the grader is imported.

Only the standard library is imported here, so `digiready grade` can start the fork server
(which imports the grader once, for every worker) as soon as its arguments are checked, and go
on importing the grader itself at the same time, on the other core.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing import forkserver

WORKER_PRELOAD = ("digiready.grading.cohort_grading",)  # what the workers' fork server imports
# One numerical-library thread per worker (the workers are the parallelism), and none started
# in the fork server before it forks.
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def worker_context() -> multiprocessing.context.BaseContext:
    """Worker processes forked from a fork server that has imported the grader once (Python's
    forkserver): a worker starts in milliseconds instead of importing nbgrader and the CLI
    again. The fork server only imports, with WORKER_ENVIRONMENT (which this process's later
    children inherit too), so it forks with one thread and no event loop or ZeroMQ context
    (tests/test_cohort_grading.py checks it). The first call starts the fork server, which
    then imports while the caller goes on."""
    for name, value in WORKER_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    forkserver.ensure_running()
    return context


def start_worker(environment: dict[str, str], warm_up: Callable[[], None] | None) -> None:
    """A worker's first step: the caller's environment as it is now (a fork server's children
    inherit the one it started with, before a gradebook URL was set, say), then `warm_up`."""
    os.environ.clear()
    os.environ.update(environment)
    if warm_up is not None:
        warm_up()
