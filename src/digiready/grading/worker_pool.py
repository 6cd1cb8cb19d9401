"""The grading workers: their fork server, started before the grader is imported, and a pool of
them that starts warming up while the command line goes on.

Only the standard library is imported here, so `digiready grade` can start the fork server
(which imports the grader once, for every worker) as soon as it runs, and start the workers'
own warm-up (their sandboxes) before it imports the grader itself, on the other core.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.synchronize
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from typing import Any

WORKER_PRELOAD = ("digiready.grading.cohort_grading",)  # what the workers' fork server imports
# One numerical-library thread per worker (the workers are the parallelism), and none started
# in the fork server before it forks.
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
WarmUp = tuple[str, str, tuple[Any, ...]]  # a worker's first call: module, function, arguments
_ALL_ASKED: multiprocessing.synchronize.Event | None = None  # a worker's; see start_worker


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


def start_worker(environment: dict[str, str], warm_up: WarmUp,
                 all_asked: multiprocessing.synchronize.Event) -> None:
    """A worker's first step: the caller's environment as it is now (a fork server's children
    inherit the one it started with, before a gradebook URL was set, say), then `warm_up`
    (named, so that the caller need not have imported it). `all_asked` is set once the pool
    has been asked for every worker (see `started`)."""
    global _ALL_ASKED
    _ALL_ASKED = all_asked
    os.environ.clear()
    os.environ.update(environment)
    module, function, arguments = warm_up
    getattr(importlib.import_module(module), function)(*arguments)


def worker_count(requested: int, submissions: int) -> int:
    """How many workers grade `submissions`: `requested` (0: one per core), never more than
    there are submissions, and at least one."""
    return max(1, min(requested or os.cpu_count() or 1, submissions))


def grader_warm_up(root: Any, module: str, kernels: str, limits: Any = None) -> WarmUp:
    """The warm-up of a worker grading `module` in the course at `root`
    (`digiready.grading.cohort_grading.warm_up`)."""
    return (WORKER_PRELOAD[0], "warm_up", (root, module, kernels, limits))


def warming_pool(workers: int, warm_up: WarmUp) -> ProcessPoolExecutor:
    """A pool of `workers` worker processes, each started (as soon as the fork server has
    imported the grader) and warming up in the background while the caller goes on."""
    context = worker_context()
    all_asked = context.Event()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=start_worker,
                               initargs=(dict(os.environ), warm_up, all_asked))
    threading.Thread(target=_start_workers, args=(pool, workers, all_asked), daemon=True).start()
    return pool


def _start_workers(pool: ProcessPoolExecutor, workers: int,
                   all_asked: multiprocessing.synchronize.Event) -> None:
    """Give the pool one task per worker. The pool starts a worker for a task only while none
    is idle, so no task ends (`started`) until all have been given."""
    try:
        for _ in range(workers):
            with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile
                pool.submit(started)
    finally:
        all_asked.set()


def started() -> None:
    """A task that only makes a pool start a worker: it ends once the pool has been asked for
    every worker, so that this worker is not idle (and reused) before then."""
    assert _ALL_ASKED is not None, "start_worker sets it"
    _ALL_ASKED.wait()
