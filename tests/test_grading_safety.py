"""Nothing lost: no sandbox means no grading (unless --unsafe), a killed run resumes, two runs
at once lose no write (the second waits for the first), Ctrl-C stops cleanly and a re-run
resumes, and a forced regrade backs the gradebook up first."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from typer.testing import CliRunner

from conftest import FIXTURE
from digiready.cli import app
from digiready.course.paths import CourseLayout
from digiready.grading import sandbox
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import MARKER, autograded_dir, grade_cohort, submission_dir
from digiready.grading.lock import grading_lock
from digiready.grading.nbgrader_run import gradebook_url
from digiready.grading.sandbox import SandboxUnavailable


def _course(layout: CourseLayout, root: Path, students: dict[str, float]) -> Path:
    """A course root (with its curriculum, so the CLI finds it) and one submission each:
    students expected to score 5 get the solution, the others a wrong answer to 1.2 (2)."""
    prepare_course(layout, [FIXTURE], root)
    shutil.copy(layout.curriculum, root / "course" / layout.curriculum.name)
    solution = layout.module_notebook(layout.solutions, FIXTURE)
    for student, score in students.items():
        notebook = nbformat.read(solution, as_version=4)
        if score != 5:
            for cell in notebook.cells:
                cell.source = cell.source.replace('answer_1_2 = {"a", "c"}', 'answer_1_2 = "d"')
        folder = submission_dir(root, FIXTURE, student)
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{FIXTURE}.ipynb")
    return root


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(gradebook_url(root)) as gradebook:
        return {s.student.id: float(s.score) for s in gradebook.assignment_submissions(FIXTURE)}


@contextlib.contextmanager
def _ctrl_c_handled() -> Iterator[None]:
    """Ctrl-C handled in this process while a child starts. A child inherits an ignored SIGINT
    (as when the suite runs in the background: the shell ignores it there, and Python keeps it
    ignored) and then rightly ignores Ctrl-C; a handled one is reset to the default at exec."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _grade(root: Path, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`digiready grade` as a terminal runs it (its own process group, Ctrl-C not ignored),
    output to `log`."""
    command = [str(Path(sys.executable).parent / "digiready"), "grade", FIXTURE, "--workers", "2",
               *args]
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    with _ctrl_c_handled():
        return subprocess.Popen(command, cwd=root, start_new_session=True, stdout=output,
                                stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})


def _markers(root: Path) -> int:
    return len(list((root / "autograded").glob(f"*/{FIXTURE}/{MARKER}")))


def _twelve_students_after_two(
    layout: CourseLayout, tmp_path: Path, log: Path | None = None
) -> tuple[dict[str, float], Path, subprocess.Popen[bytes]]:
    """Twelve students (expected scores, course root) and a grading run that has finished two."""
    expected = {f"s{i:02d}": 5.0 if i % 2 else 2.0 for i in range(12)}
    root = _course(layout, tmp_path / "course", expected)
    run = _grade(root, log=log)
    deadline = time.monotonic() + 120
    while _markers(root) < 2:
        assert time.monotonic() < deadline and run.poll() is None, log and log.read_text()
        time.sleep(0.1)
    return expected, root, run


def test_no_sandbox_no_grading_unless_unsafe(
    built_fixture_course: CourseLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _course(built_fixture_course, tmp_path / "course", {"s1": 5})
    monkeypatch.setattr(sandbox.shutil, "which", lambda _name: None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap.*--unsafe"):
        grade_cohort(root, FIXTURE, workers=1)
    monkeypatch.chdir(root)
    refused = CliRunner().invoke(app, ["grade", FIXTURE, "--workers", "1"])
    assert refused.exit_code == 2 and "Not grading" in refused.output, refused.output
    assert "--unsafe" in refused.output and not (root / "autograded").exists()
    unsafe = CliRunner().invoke(app, ["grade", FIXTURE, "--workers", "1", "--unsafe"])
    assert unsafe.exit_code == 0, unsafe.output
    assert "unconfined" in unsafe.output and _scores(root) == {"s1": 5.0}


@pytest.mark.usefixtures("sandbox_available")
def test_killed_run_resumes_and_concurrent_runs_lose_nothing(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    expected, root, run = _twelve_students_after_two(built_fixture_course, tmp_path)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    first, second = sorted(expected)[:6], sorted(expected)[6:]
    together = [_grade(root, *[f"--student={s}" for s in half]) for half in (first, second)]
    assert [process.wait(timeout=300) for process in together] == [0, 0]
    assert _scores(root) == expected
    with sqlite3.connect(root / "gradebook.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.usefixtures("sandbox_available")
def test_a_second_run_waits_for_the_first(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    """While another run holds the course's grading lock, `digiready grade` says whose it is
    and grades nothing; once the lock is free it grades everyone."""
    root = _course(built_fixture_course, tmp_path / "course", {"s1": 5, "s2": 2})
    log = tmp_path / "second.log"
    with grading_lock(root):
        second = _grade(root, log=log)
        deadline = time.monotonic() + 120
        while "waiting for it to finish" not in log.read_text(encoding="utf-8", errors="replace"):
            assert time.monotonic() < deadline and second.poll() is None, log.read_text()
            time.sleep(0.1)
        time.sleep(1)
        assert _markers(root) == 0 and second.poll() is None
        assert f"(process {os.getpid()})" in log.read_text(encoding="utf-8")
    assert second.wait(timeout=300) == 0, log.read_text()
    assert _scores(root) == {"s1": 5.0, "s2": 2.0}
    assert "Traceback" not in log.read_text(encoding="utf-8")


@pytest.mark.usefixtures("sandbox_available")
def test_ctrl_c_stops_keeps_what_was_graded_and_a_rerun_resumes(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    log = tmp_path / "stopped.log"
    expected, root, run = _twelve_students_after_two(built_fixture_course, tmp_path, log)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
    assert run.wait(timeout=60) == 130, log.read_text()
    said = log.read_text(encoding="utf-8")
    assert "Stopped:" in said and "Run the same command again" in said, said
    assert "Traceback" not in said and "recorded as 0" not in said  # no 0 was recorded
    graded = _scores(root)
    assert 2 <= len(graded) < len(expected), graded
    for student in graded:  # nothing half-written: everyone in the gradebook is fully graded
        assert (autograded_dir(root, FIXTURE, student) / MARKER).is_file(), student
        assert graded[student] == expected[student], student
    assert _grade(root).wait(timeout=300) == 0
    assert _scores(root) == expected


@pytest.mark.usefixtures("sandbox_available")
def test_forced_regrade_backs_up_the_gradebook_first(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    root = _course(built_fixture_course, tmp_path / "course", {"s1": 2})
    grade_cohort(root, FIXTURE, workers=1)
    assert not (root / "gradebook-backups").exists()  # only a forced regrade makes one
    folder = submission_dir(root, FIXTURE, "s1")
    shutil.copy(built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE),
                folder / f"{FIXTURE}.ipynb")
    (autograded_dir(root, FIXTURE, "s1") / MARKER).unlink()
    grade_cohort(root, FIXTURE, workers=1, force=True)
    (backup,) = (root / "gradebook-backups").glob("gradebook-*.db")
    with Gradebook(f"sqlite:///{backup}") as old:
        assert old.find_submission(FIXTURE, "s1").score == 2.0
    assert _scores(root) == {"s1": 5.0}


def test_end_summary_names_every_failure_and_flag() -> None:
    from digiready.cli import _summary
    from digiready.grading.cohort_grading import Outcome

    outcomes = [
        Outcome("s1", "graded", "", 5, 9, True),
        Outcome("s2", "failed", "s2.ipynb is an empty file", 0, 9, False,
                ("s2.ipynb is an empty file",)),
        Outcome("s3", "graded", "", 2, 9, True, ("kernel changed to 'ir'", "cells deleted: x")),
    ]
    lines = _summary(FIXTURE, outcomes).splitlines()
    assert lines[0] == (f"{FIXTURE}: 2 graded, 0 unchanged (skipped), 1 could not be graded "
                        "(recorded as 0), 2 flagged for review, 2 awaiting manual grading")
    assert lines[1:] == ["  NOT GRADED s2: s2.ipynb is an empty file",
                         "  FLAGGED s3 (2/9): kernel changed to 'ir'; cells deleted: x"]
