"""`digiready grade`: nbgrader's scores, in parallel, resumable, one bad submission isolated."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import attacks
from conftest import FIXTURE, REPO
from digiready.course.paths import CourseLayout
from digiready.grading.autograde import autograde, prepare_course, submit
from digiready.grading.cohort_grading import autograded_dir, grade_cohort
from digiready.grading.fast_execute import ForkedKernelManager, PromptKernelClient
from digiready.grading.nbgrader_run import gradebook_url
from digiready.grading.worker_pool import (
    WORKER_ENVIRONMENT,
    WORKER_PRELOAD,
    start_worker,
    started,
    warming_pool,
    worker_context,
    worker_count,
)
from digiready.reporting.cohort_scores import load_scores

pytestmark = pytest.mark.usefixtures("sandbox_available")
MODULE = "09-online-safeguarding"


def _answered(release: Path, tmp: Path, name: str, answers: dict[str, str]) -> Path:
    """The release notebook with some answers typed in (`answer_1_1 = ...` replaced)."""
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        for variable, value in answers.items():
            cell.source = cell.source.replace(f"{variable} = ...", f"{variable} = {value}")
    path = tmp / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def cohort_notebooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Right, wrong, partly right and blank submissions of module 09 (ids with leading zeros)."""
    tmp = tmp_path_factory.mktemp("notebooks")
    release = REPO.module_notebook(REPO.release, MODULE)
    return {
        "0012345": REPO.module_notebook(REPO.solutions, MODULE),
        "0000001": release,
        "0070000": _answered(
            release,
            tmp,
            "wrong",
            {
                "answer_1_1": '{"A": "contact", "B": "content", "C": "conduct", "D": "contract", '
                              '"E": "contract", "F": "content"}',
                "answer_2_1": '"a"',
                "answer_4_1": '{"a", "c"}',
                "answer_5_2": "7",
            },
        ),
        "0099999": _answered(
            release,
            tmp,
            "partial",
            {
                "answer_4_2": '["c", "d", "e", "b", "a"]',
                "answer_3_2": '"c"',
                "answer_5_1": 'referrals["four_cs"].value_counts()',
            },
        ),
    }


def _setup(root: Path, notebooks: dict[str, Path]) -> None:
    prepare_course(REPO, [MODULE], root)
    for student, notebook in notebooks.items():
        submit(root, MODULE, student, notebook)


def _score_table(root: Path) -> dict[tuple[str, str], float | None]:
    table = load_scores(gradebook_url(root), REPO, [MODULE])
    # a pending manual grade is NaN, which never equals itself: compare it as None
    return {
        (row.student, row.grade_id): None if math.isnan(row.score) else row.score
        for row in table.itertuples()
    }


def test_scores_equal_nbgrader_autograde(cohort_notebooks: dict[str, Path], tmp_path: Path) -> None:
    plain, ours = tmp_path / "nbgrader", tmp_path / "digiready"
    _setup(plain, cohort_notebooks)
    autograde(plain, MODULE, list(cohort_notebooks))
    _setup(ours, cohort_notebooks)
    outcomes = grade_cohort(ours, MODULE, workers=2)
    assert [o.student for o in outcomes] == sorted(cohort_notebooks)
    assert all(o.status == "graded" for o in outcomes), outcomes
    expected = _score_table(plain)
    assert _score_table(ours) == expected
    assert len(expected) == 4 * 10
    totals = {o.student: o.score for o in outcomes}
    assert totals["0012345"] == 24.0 and totals["0000001"] == 0.0
    assert 0 < totals["0099999"] < 24 and 0 < totals["0070000"] < 24
    graded = nbformat.read(autograded_dir(ours, MODULE, "0012345") / f"{MODULE}.ipynb", 4)
    practice = [cell for cell in graded.cells if cell.cell_type == "code"
                and ("show_scenario(" in cell.source or "practice_question(" in cell.source)]
    assert len(practice) == 6  # the grading kernel built no widgets: one line of text each
    assert all([output.get("data", {}).get("text/plain", "")[-35:] for output in cell.outputs]
               == ["so not run when the notebook is graded]"[-35:]] for cell in practice)


def test_broken_submission_is_isolated_and_reported(
    cohort_notebooks: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "course"
    _setup(root, {"0012345": cohort_notebooks["0012345"]})
    broken = root / "submitted" / "0000002" / MODULE
    broken.mkdir(parents=True)
    (broken / f"{MODULE}.ipynb").write_text("{ this is not a notebook")
    renamed = root / "submitted" / "0000003" / MODULE
    renamed.mkdir(parents=True)
    shutil.copy(cohort_notebooks["0012345"], renamed / "my work.ipynb")
    outcomes = {o.student: o for o in grade_cohort(root, MODULE, workers=2)}
    assert outcomes["0012345"].status == "graded" and outcomes["0012345"].score == 24.0
    assert outcomes["0000002"].status == "failed" and outcomes["0000002"].score == 0
    assert "not a readable notebook" in outcomes["0000002"].reason
    assert outcomes["0000003"].status == "graded" and outcomes["0000003"].score == 24.0
    assert outcomes["0000003"].flags == (
        "graded my work.ipynb in place of 09-online-safeguarding.ipynb (renamed)",
    )


def test_resume_skips_unchanged_and_regrades_changed(
    cohort_notebooks: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "course"
    two = {k: cohort_notebooks[k] for k in ("0012345", "0000001")}
    _setup(root, two)
    first = grade_cohort(root, MODULE, workers=1)
    assert [o.status for o in first] == ["graded", "graded"]
    again = grade_cohort(root, MODULE, workers=1)
    assert [o.status for o in again] == ["skipped", "skipped"]
    assert [o.score for o in again] == [o.score for o in first]
    submit(root, MODULE, "0000001", cohort_notebooks["0012345"])  # resubmitted, now right
    changed = {o.student: o for o in grade_cohort(root, MODULE, workers=1)}
    assert changed["0000001"].status == "graded" and changed["0000001"].score == 24.0
    assert changed["0012345"].status == "skipped"
    forced = grade_cohort(root, MODULE, workers=1, force=True)
    assert [o.status for o in forced] == ["graded", "graded"]


def test_interrupted_grading_resumes(cohort_notebooks: dict[str, Path], tmp_path: Path) -> None:
    """A run stopped after some students (their autograded folders half there) picks up cleanly."""
    root = tmp_path / "course"
    _setup(root, {k: cohort_notebooks[k] for k in ("0012345", "0099999")})
    grade_cohort(root, MODULE, students=["0012345"], workers=1)
    half = autograded_dir(root, MODULE, "0099999")
    half.mkdir(parents=True)
    (half / f"{MODULE}.ipynb").write_text("{ half written")
    outcomes = {o.student: o for o in grade_cohort(root, MODULE, workers=2)}
    assert outcomes["0012345"].status == "skipped"
    assert outcomes["0099999"].status == "graded" and 0 < (outcomes["0099999"].score or 0) < 24


def test_plain_kernels_give_the_same_scores(
    cohort_notebooks: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "course"
    _setup(root, {k: cohort_notebooks[k] for k in ("0070000",)})
    forked = grade_cohort(root, MODULE, workers=1)
    plain = grade_cohort(root, MODULE, workers=1, force=True, kernels="plain")
    assert [o.score for o in forked] == [o.score for o in plain]


ALL_WRONG = {
    "answer_1_1": '{"A": "content", "B": "contact", "C": "conduct", "D": "contract", '
                  '"E": "content", "F": "contact"}',
    "answer_2_1": '"a"',
    "answer_3_1": '{"A": "s47", "B": "s42", "C": "mca", "D": "osa", "E": "s47", "F": "s42"}',
    "answer_3_2": '"a"',
    "answer_3_3": '"a"',
    "answer_4_1": '{"a", "c"}',
    "answer_4_2": '["a", "b", "c", "d", "e"]',
    "answer_5_1": 'referrals["four_cs"].value_counts()',
    "answer_5_2": "7",
}


def test_a_kernel_that_passes_its_own_tests_gains_nothing(tmp_path: Path) -> None:
    """Each attack made the student's kernel pass every hidden test of 09 (24/24) with every
    answer wrong; the grader, deciding marks outside the kernel, gives 0 and flags it."""
    release = REPO.module_notebook(REPO.release, MODULE)
    kernel_attacks = {"quiet": attacks.QUIET_TESTS, "rewrite": attacks.REWRITE_TESTS,
                      "finder": attacks.FAKE_MARKING}
    notebooks = {
        name: _answered(release, tmp_path, name,
                        {**ALL_WRONG, "answer_1_1": ALL_WRONG["answer_1_1"] + "\n" + attack})
        for name, attack in kernel_attacks.items()
    }
    root = tmp_path / "course"
    _setup(root, notebooks)
    outcomes = {o.student: o for o in grade_cohort(root, MODULE, workers=2)}
    for name in kernel_attacks:
        assert outcomes[name].score == 0.0, outcomes[name]
        assert any(flag.startswith("tampering suspected") for flag in outcomes[name].flags)
    for (student, grade_id), score in _score_table(root).items():
        if grade_id.endswith("_test"):
            assert score == 0.0, (student, grade_id)


def test_unknown_module_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a module id"):
        grade_cohort(tmp_path, "../etc", workers=1)


def test_fixture_module_grades_too(built_fixture_course: CourseLayout, tmp_path: Path) -> None:
    root = tmp_path / "fixture"
    prepare_course(built_fixture_course, [FIXTURE], root)
    submit(
        root,
        FIXTURE,
        "007",
        built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE),
    )
    (outcome,) = grade_cohort(root, FIXTURE, workers=1)
    assert outcome.student == "007" and outcome.score == 5.0 and outcome.needs_manual_grade


def test_the_workers_fork_server_forks_with_one_thread_and_no_loop_or_zmq_context() -> None:
    """Workers are forked from a server that has imported the grader (forkserver). Forking is
    only safe from a process with a single thread, no event loop and no ZeroMQ context: the
    server's imports, in its environment, start none."""
    script = (
        "import asyncio, importlib, os, sys\n"
        f"for name in {list(WORKER_PRELOAD)!r}:\n"
        "    importlib.import_module(name)\n"
        "import zmq\n"
        "print(len(os.listdir('/proc/self/task')), zmq.Context._instance is None,\n"
        "      asyncio.events._get_running_loop() is None, 'nbgrader.api' in sys.modules)\n"
    )
    environment = {**os.environ, **WORKER_ENVIRONMENT}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=environment)
    assert run.stdout.split() == ["1", "True", "True", "True"]
    assert worker_context().get_start_method() == "forkserver"


def test_forked_kernels_get_the_client_that_waits_for_idle_not_for_silence() -> None:
    """The kernel manager hands nbclient the PromptKernelClient (a traitlets default, easily
    lost: a plain class attribute does not change it)."""
    manager = ForkedKernelManager(kernel_name="python3")
    assert isinstance(manager.client(), PromptKernelClient)


def test_workers_are_one_per_core_by_default_and_never_more_than_submissions() -> None:
    """`digiready grade` and grade_cohort size their pool alike."""
    assert worker_count(0, 1000) == (os.cpu_count() or 1)
    assert worker_count(8, 3) == 3
    assert worker_count(2, 5) == 2
    assert worker_count(0, 0) == 1


def test_a_worker_start_task_ends_only_once_every_worker_was_asked_for() -> None:
    """A pool starts a worker for a task only while none is idle: if the first worker's start
    task ended before the second was given, the first would take it and the pool would keep
    one worker (stop 21's CI saw this). So `started` waits for the pool's `all_asked` event."""
    all_asked = worker_context().Event()
    start_worker(dict(os.environ), ("os", "getpid", ()), all_asked)
    task = threading.Thread(target=started)
    task.start()
    task.join(0.5)
    assert task.is_alive(), "the start task ended before every worker was asked for"
    all_asked.set()
    task.join(10)
    assert not task.is_alive()


def test_a_warming_pool_starts_every_worker_and_its_warm_up_before_any_work(
    tmp_path: Path,
) -> None:
    """`warming_pool` starts its workers in the background (so their sandboxes start while
    the command line is still importing and checking): each runs the warm-up it is named,
    though nothing has been submitted."""
    pool = warming_pool(2, ("tempfile", "mkdtemp", (None, "warm-", str(tmp_path))))
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("warm-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(tmp_path.glob("warm-*"))) == 2
    finally:
        pool.shutdown()
