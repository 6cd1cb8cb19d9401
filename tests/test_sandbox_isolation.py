"""Attacks on the grading sandbox itself (issue 10), through the real `digiready grade` command,
as root and as an unprivileged user (uid 65534), one worker so that every attacker is followed
by later students on the same worker: nothing a submission does may run outside the sandbox,
reach the grader's terminal, or change how a later student is graded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

import attacks
from conftest import FIXTURE, graded_cell
from digiready.course.paths import CourseLayout
from digiready.grading import cohort_grading, fast_execute
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import (
    autograded_dir,
    ensure_assignment,
    grade_one,
    source_notebook,
    submission_dir,
)
from digiready.grading.gradebook_records import flag_reasons
from digiready.grading.nbgrader_run import gradebook_url
from digiready.grading.sandbox import Sandbox, remove_tree
from digiready.grading.submission_checks import inspect

NOBODY = 65534
Edit = Callable[[Any], Any]


def _answer(code: str) -> Edit:
    def edit(notebook: Any) -> Any:
        cell = graded_cell(notebook, "m99_q1_1")
        cell.source = code + "\n" + cell.source
        return notebook

    return edit


def _wrong_with(code: str) -> Edit:
    """Wrong answers to both items, after `code`: a kernel that tries to pass its own tests."""
    first, second = attacks.WRONG_ANSWERS.split("\n")

    def edit(notebook: Any) -> Any:
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id == "m99_q1_1":
                cell.source = code + "\n" + first
            elif grade_id == "m99_q1_2":
                cell.source = second
        return notebook

    return edit


def _reflection(text: str) -> Edit:
    def edit(notebook: Any) -> Any:
        graded_cell(notebook, "m99_reflection").source = text
        return notebook

    return edit


# Run in this order on one worker; the sandbox attackers answer correctly (5 out of 5).
ATTACKS: dict[str, Edit] = {
    "a-extra-files": lambda notebook: notebook,
    "b-deep-folder": _answer(attacks.DEEP_FOLDER),
    "c-startup-file": _answer(attacks.STARTUP_FILE),
    "d-stops-server": _answer(attacks.STOP_SERVER),
    "e-server-socket": _answer(attacks.SERVER_SOCKET),
    "f-shm-writer": _answer(attacks.SHM_WRITER),
    "g-shm-reader": _answer(attacks.SHM_READER),
    "h-terminal-escapes": _answer(attacks.ESCAPES),
    "i-quiet-tests": _wrong_with(attacks.QUIET_TESTS),
    "j-fake-marking": _wrong_with(attacks.FAKE_MARKING),
    "k-html-reflection": _reflection('Mine <img src=x onerror="fetch(\'/api/contents\')">'),
    "l-rewrites-tests": _wrong_with(attacks.REWRITE_TESTS),
    "m-huge-errors": _answer(attacks.HUGE_ERRORS),
    "n-slow-cells": attacks.slow_cells,
    "z-good": lambda notebook: notebook,
}
# What the grader decides when the kernel claims otherwise, and words of each flag, in order.
SCORES = {"i-quiet-tests": 0.0, "j-fake-marking": 0.0, "l-rewrites-tests": 0.0}
FLAGGED = {
    "a-extra-files": ("extra files in the submission: digiready/, json.py",),
    "i-quiet-tests": ("tampering suspected",),
    "j-fake-marking": ("tampering suspected",),
    "k-html-reflection": ("HTML or script in the notebook",),
    "l-rewrites-tests": ("tampering suspected",),
    "m-huge-errors": ("output was cut",),
    "n-slow-cells": ("time budget", "fewer marks than its written answers earn"),
}


def _unprivileged_problem() -> str | None:
    """Why the unprivileged run cannot be set up here, or None."""
    if os.geteuid() != 0:
        return "grading as an unprivileged user is set up from root (the tests are not root)"
    missing = [tool for tool in ("setpriv", "unshare", "mount") if shutil.which(tool) is None]
    if missing:
        problem = f"{', '.join(missing)} not installed (util-linux)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the unprivileged grading test: {problem}")
        return problem
    return None


def _course(layout: CourseLayout, root: Path) -> None:
    """A course root (with its curriculum, so the CLI finds it) and the attackers' work."""
    prepare_course(layout, [FIXTURE], root)
    shutil.copy(layout.curriculum, root / "course" / layout.curriculum.name)
    solution = layout.module_notebook(layout.solutions, FIXTURE)
    for student, edit in ATTACKS.items():
        folder = submission_dir(root, FIXTURE, student)
        folder.mkdir(parents=True)
        nbformat.write(edit(nbformat.read(solution, as_version=4)), folder / f"{FIXTURE}.ipynb")
    attacks.write_extra_files(root, submission_dir(root, FIXTURE, "a-extra-files"))


def _chown_tree(path: Path, uid: int) -> None:
    for item in [path, *path.rglob("*")]:
        os.lchown(item, uid, uid)


def _unprivileged_command(place: Path, root: Path, grade: list[str]) -> list[str]:
    """`grade` run as uid 65534: in a mount namespace of its own, /root (0700, holding the
    project's Python) is replaced by a tmpfs with only a read-only /root/.pyenv in it."""
    stash, home = place / "pyenv", place / "home"
    stash.mkdir()
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    environment = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "TMPDIR": str(home), "LANG": "C.UTF-8"}
    if os.environ.get("CI"):
        environment["CI"] = os.environ["CI"]
    script = "\n".join([
        "set -e",
        f"mount --bind /root/.pyenv {stash}" if Path("/root/.pyenv").is_dir() else ":",
        "mount -t tmpfs -o mode=0755 tmpfs /root",
        f"if [ -d {stash}/versions ]; then mkdir -p /root/.pyenv && "
        f"mount --bind {stash} /root/.pyenv && mount -o remount,bind,ro /root/.pyenv; fi",
        f'cd "{root}"',
        'exec setpriv --reuid 65534 --regid 65534 --clear-groups env -i "$@"',
    ])
    assignments = [f"{key}={value}" for key, value in environment.items()]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            *assignments, *grade]


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may enter (pytest's own temporary folders are root's, mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="digiready-isolation-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    remove_tree(folder)  # the deep folder may be left in it: shutil.rmtree would recurse


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(gradebook_url(root)) as gradebook:
        return {s.student.id: float(s.score) for s in gradebook.assignment_submissions(FIXTURE)}


@pytest.mark.usefixtures("sandbox_available")
@pytest.mark.parametrize("user", ["root", "unprivileged"])
def test_attacks_on_the_sandbox_fail_through_the_cli(
    user: str, built_fixture_course: CourseLayout, place: Path
) -> None:
    if user == "unprivileged":
        problem = _unprivileged_problem()
        if problem is not None:
            pytest.skip(problem)
    elif os.geteuid() != 0:
        pytest.skip("this run grades as root; the tests are not root")
    root = place / "course"
    _course(built_fixture_course, root)
    grade = [str(Path(sys.executable).parent / "digiready"), "grade", FIXTURE, "--workers", "1"]
    if user == "unprivileged":
        _chown_tree(root, NOBODY)
        command = _unprivileged_command(place, root, grade)
    else:
        command = grade
    run = subprocess.run(command, cwd=root, capture_output=True, timeout=900,
                         env={**os.environ, "COLUMNS": "200"})
    printed = (run.stdout + run.stderr).decode("utf-8", "replace")
    assert run.returncode == 0, printed
    assert attacks.ESCAPE_MARK not in printed and "\x1b[2J" not in printed, printed
    assert sorted(p.name for p in root.glob("imported-*")) == []
    assert _scores(root) == {student: SCORES.get(student, 5.0) for student in ATTACKS}, printed
    for student in ATTACKS:
        reasons = flag_reasons(root, FIXTURE, student)
        expected = FLAGGED.get(student, ())
        assert len(reasons) == len(expected), (student, reasons)
        assert all(words in reason for words, reason in zip(expected, reasons, strict=True)), (
            student, reasons)

    def said(student: str) -> str:
        return attacks.outputs(autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb")

    assert "DEEP FOLDER MADE" in said("b-deep-folder")
    assert "SHM CREATED" in said("f-shm-writer")
    assert "BIG SHM REFUSED" in said("f-shm-writer")  # the kernel's own IPC limits are low
    assert "SHM NOT FOUND" in said("g-shm-reader"), said("g-shm-reader")
    socket_attack = said("e-server-socket")
    assert "CONNECTED" not in socket_attack and "WROTE" not in socket_attack, socket_attack
    assert "ESCAPES WRITTEN" in said("h-terminal-escapes")


def test_remove_tree_needs_no_recursion_and_follows_no_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("kept")
    tree = tmp_path / "tree"
    here = tree
    for depth in range(1500):
        here = here / "d"
        here.mkdir(parents=depth == 0)
        if depth == 700:
            (here / "link").symlink_to(outside)
            (here / "locked").mkdir()
            (here / "locked" / "f").write_text("x")
            (here / "locked").chmod(0)
    (here / "leaf").write_text("x")
    with pytest.raises(RecursionError):
        shutil.rmtree(tree)  # what the clean-up did before
    remove_tree(tree)
    assert not tree.exists() and (outside / "keep.txt").read_text() == "kept"


def test_extra_files_are_flagged_but_not_the_release_or_nbgraders_own(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    source = source_notebook(root, FIXTURE)
    (source.parent / "scenario.yml").write_text("shipped: true")
    folder = submission_dir(root, FIXTURE, "s1")
    folder.mkdir(parents=True)
    shutil.copy(source, folder / f"{FIXTURE}.ipynb")
    for name in ("scenario.yml", "timestamp.txt", ".ipynb_checkpoints/x.ipynb"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("x")
    assert not any("extra files" in note for note in inspect(folder, FIXTURE, source).notes)
    attacks.write_extra_files(root, folder)
    notes = inspect(folder, FIXTURE, source).notes
    assert "extra files in the submission: digiready/, json.py" in notes


def test_a_changed_source_notebook_is_read_again(
    built_fixture_course: CourseLayout, tmp_path: Path
) -> None:
    """Workers keep the module's source notebook between submissions, but never once it has
    changed: a cell added to it shows as deleted from a submission checked afterwards."""
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    source = source_notebook(root, FIXTURE)
    folder = submission_dir(root, FIXTURE, "s1")
    folder.mkdir(parents=True)
    shutil.copy(source, folder / f"{FIXTURE}.ipynb")
    assert not any("deleted" in note for note in inspect(folder, FIXTURE, source).notes)
    master = nbformat.read(source, as_version=4)
    added = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade_id": "m99_new_cell", "grade": False, "solution": False, "locked": True,
        "schema_version": 3, "task": False}})
    master.cells.append(added)
    nbformat.write(master, source)
    notes = inspect(folder, FIXTURE, source).notes
    assert "cells deleted (put back before grading): m99_new_cell" in notes


@pytest.fixture
def own_server() -> Iterator[None]:
    """grade_one run in this process starts a sandbox here: stop it afterwards."""
    yield
    for server in cohort_grading._SERVER:
        server.close()
    cohort_grading._SERVER.clear()
    fast_execute._ACTIVE.clear()


@pytest.mark.usefixtures("sandbox_available", "own_server")
def test_a_grader_failure_is_graded_again_and_never_recorded_as_zero(
    built_fixture_course: CourseLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that stops answering after a student: graded again in a fresh sandbox; if it
    fails again, "not graded" and nothing in the gradebook (no 0)."""
    root = tmp_path / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    solution = built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)
    for student in ("once", "always"):
        submission_dir(root, FIXTURE, student).mkdir(parents=True)
        shutil.copy(solution, submission_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb")
    ensure_assignment(root, FIXTURE)
    answers = {"once": [False, True], "always": [False, False]}
    checked: list[str] = []

    def healthy(_self: Sandbox) -> bool:
        student = "once" if len(checked) < 2 else "always"
        checked.append(student)
        return answers[student][checked.count(student) - 1]

    monkeypatch.setattr(Sandbox, "healthy", healthy)
    once = grade_one(root, FIXTURE, "once", force=False)
    assert (once.status, once.score, once.flags) == ("graded", 5.0, ()), once
    always = grade_one(root, FIXTURE, "always", force=False)
    assert always.status == "failed" and always.score is None, always
    assert always.reason == "not graded: the kernel server stopped answering"
    assert checked == ["once", "once", "always", "always"]
    with Gradebook(gradebook_url(root)) as gradebook, pytest.raises(MissingEntry):
        gradebook.find_submission(FIXTURE, "always")
