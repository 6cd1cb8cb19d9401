"""A cohort of broken and hostile submissions, graded in the sandbox in one run.

Each submission of the fixture module (two auto-graded items: 2 + 3 points) does one bad
thing; each has a defined outcome: a score in the gradebook and the end summary, flagged for
review with a reason. The good students graded in the same run keep full marks, and nothing
outside a kernel's sandbox is read or written.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import attacks
from conftest import FIXTURE, graded_cell
from digiready.course.items import read_notebook
from digiready.course.paths import CourseLayout
from digiready.grading.autograde import prepare_course
from digiready.grading.cohort_grading import Outcome, autograded_dir, grade_cohort, submission_dir
from digiready.grading.gradebook_records import flag_reasons
from digiready.grading.sandbox import Limits

pytestmark = pytest.mark.usefixtures("sandbox_available")

Edit = Callable[[Any], Any]
GOOD_STUDENTS = ("good-1", "good-2", "good-3")
TAMPERING = "tampering suspected"
FEWER = "fewer marks than its written answers earn"


def _answer(cell_id: str, code: str) -> Edit:
    """Put `code` into an answer cell (its solution stays in place after it)."""

    def edit(notebook: Any) -> Any:
        cell = graded_cell(notebook, cell_id)
        cell.source = code + "\n" + cell.source
        return notebook

    return edit


def _delete_test(notebook: Any) -> Any:
    notebook.cells.remove(graded_cell(notebook, "m99_q1_1_test"))
    return notebook


def _edit_test_and_answer_wrongly(notebook: Any) -> Any:
    graded_cell(notebook, "m99_q1_1_test").source = "pass"
    graded_cell(notebook, "m99_q1_1").source = 'answer_1_1 = "a"'
    return notebook


def _move_test_first(notebook: Any) -> Any:
    test = graded_cell(notebook, "m99_q1_1_test")
    notebook.cells.remove(test)
    notebook.cells.insert(1, test)
    return notebook


def _inflate_points(notebook: Any) -> Any:
    graded_cell(notebook, "m99_q1_1_test").metadata["nbgrader"]["points"] = 100
    return notebook


def _kernel_ir(notebook: Any) -> Any:
    notebook.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    return notebook


FORK_BOMB = """import os, time
try:
    while True:
        if os.fork() == 0:  # a child that leaves a grandchild behind, out of the kernel's tree
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        time.sleep(0.01)
except OSError as error:
    print("fork refused:", error)"""

HUGE_OUTPUT = """from IPython.display import HTML, Image, display
print("x" * 20_000_000)
for line in range(100_000):
    print(line)
display(HTML("<p>" * 2_000_000))
display(Image(data=b"\\x89PNG\\r\\n\\x1a\\n" + bytes(3_000_000), format="png"))"""


def _probe(paths: list[str], mode: str) -> str:
    """Code that tries to read or write each path and prints what happened. Reads are in bytes,
    so a binary file such as the gradebook cannot look refused through a decoding error."""
    action = "open(p, 'rb').read()" if mode == "read" else "open(p, 'w').write('x')"
    listing = ", ".join(repr(p) for p in paths)
    return (f"for p in [{listing}]:\n    try:\n        {action}\n        print('DONE', p)\n"
            f"    except Exception as error:\n        print('REFUSED', p, type(error).__name__)")


CONNECT = """import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    print("CONNECTED")
except OSError as error:
    print("REFUSED", type(error).__name__)"""


def _wrong_with(code: str) -> Edit:
    """Wrong answers to both items, after `code` in the first answer cell."""

    def edit(notebook: Any) -> Any:
        first, second = attacks.WRONG_ANSWERS.split("\n")[:2]
        graded_cell(notebook, "m99_q1_1").source = code + "\n" + first
        graded_cell(notebook, "m99_q1_2").source = second
        return notebook

    return edit


def _cases(root: Path, port: int) -> dict[str, Edit]:
    """Each bad submission: how it is made from the solution notebook."""
    secrets = [str(root / "gradebook.db"), str(root / "course" / FIXTURE / f"{FIXTURE}.ipynb"),
               str(submission_dir(root, FIXTURE, "good-1") / f"{FIXTURE}.ipynb"),
               str(Path.home() / ".bashrc"), "/etc/shadow"]
    targets = [str(root / "written-by-student"), "/tmp/written-by-student",
               str(Path.home() / "written-by-student"), str(Path(os.__file__).parent / "x.py")]
    return {
        "ignores-interrupts": _answer("m99_q1_1", "import signal\nsignal.signal("
                                      "signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        "infinite-loop": _answer("m99_q1_1", "while True:\n    pass"),
        "os-exit": _answer("m99_q1_2", "import os\nos._exit(1)"),
        "sys-exit": _answer("m99_q1_1", 'answer_1_1 = "b"\nimport sys\nsys.exit(0)'),
        "memory": _answer("m99_q1_1", "hog = bytearray(8 * 1024**3)"),
        "fork-bomb": _answer("m99_q1_1", FORK_BOMB),
        "huge-output": _answer("m99_q1_1", HUGE_OUTPUT),
        "reads-secrets": _answer("m99_q1_1", _probe(secrets, "read")),
        "writes-outside": _answer("m99_q1_1", _probe(targets, "write")),
        "network": _answer("m99_q1_1", CONNECT.format(port=port)),
        "always-equal": _then(
            _answer("m99_q1_1", "class Anything(str):\n    def __eq__(self, other):\n"
                    "        return True\n    __hash__ = str.__hash__\n"),
            'answer_1_1 = Anything("a")'),
        "swaps-marking": _then(
            _answer("m99_q1_1", "import digiready.marking as m\n"
                    "m.score_choice = lambda *args, **kwargs: None"),
            'answer_1_1 = "a"'),
        "test-deleted": _delete_test,
        "test-edited": _edit_test_and_answer_wrongly,
        "test-moved": _move_test_first,
        "points-inflated": _inflate_points,
        "kernel-changed": _kernel_ir,
        "quiet-tests": _wrong_with(attacks.QUIET_TESTS),
        "rewrites-tests": _wrong_with(attacks.REWRITE_TESTS),
        "fake-marking-module": _wrong_with(attacks.FAKE_MARKING),
        "marking-file": _wrong_with(""),
        "computed-answer": _then(_answer("m99_q1_1", 'letter = "b"'), "answer_1_1 = letter"),
        "html-reflection": _reflection('Mine. <img src=x onerror="fetch(\'/api/contents\')">'),
        "deep-folder": _answer("m99_q1_1", attacks.DEEP_FOLDER),
        "startup-file": _answer("m99_q1_1", attacks.STARTUP_FILE),
        "stops-server": _answer("m99_q1_1", attacks.STOP_SERVER),
        "server-socket": _answer("m99_q1_1", attacks.SERVER_SOCKET),
        "shm-writer": _answer("m99_q1_1", attacks.SHM_WRITER),
        "shm-reader": _answer("m99_q1_1", attacks.SHM_READER),
        "terminal-escapes": _answer("m99_q1_1", attacks.ESCAPES),
        "huge-errors": _answer("m99_q1_1", attacks.HUGE_ERRORS),
        "slow-cells": attacks.slow_cells,
    }



def _reflection(text: str) -> Edit:
    """The written answer replaced by `text`."""

    def edit(notebook: Any) -> Any:
        graded_cell(notebook, "m99_reflection").source = text
        return notebook

    return edit


def _then(edit: Edit, answer: str) -> Edit:
    """`edit`, then the solution's answer to 1.1 replaced by `answer`."""

    def both(notebook: Any) -> Any:
        cell = graded_cell(edit(notebook), "m99_q1_1")
        cell.source = cell.source.replace('answer_1_1 = "b"', answer)
        return notebook

    return both


# Expected (score out of 5, words every reason list must contain; () = not flagged).
EXPECTED: dict[str, tuple[float, tuple[str, ...]]] = {
    "good-1": (5, ()), "good-2": (5, ()), "good-3": (5, ()),
    "invalid-json": (0, ("not a readable notebook",)),
    "empty-file": (0, ("empty file",)),
    "old-nbformat": (5, ("notebook format 3",)),
    "missing-notebook": (0, ("no notebook named",)),
    "renamed": (5, ("renamed",)),
    "extra-notebooks": (5, ("other notebooks not graded",)),
    "test-deleted": (5, ("cells deleted",)),
    "test-edited": (3, ("edited",)),
    # Marks come from the written answers, whatever happened when the cells ran.
    "test-moved": (5, ("moved out of order", FEWER)),
    "points-inflated": (5, ("points changed",)),
    "kernel-changed": (5, ("kernel changed",)),
    "infinite-loop": (5, ("time limit", FEWER)),
    "ignores-interrupts": (5, ("did not stop when interrupted", FEWER)),
    "os-exit": (5, ("kernel stopped", FEWER)),
    "sys-exit": (5, ()),
    "memory": (5, (FEWER,)),
    "fork-bomb": (5, ("still running",)),
    "huge-output": (5, ("output was cut",)),
    "reads-secrets": (5, ()),
    "writes-outside": (5, ()),
    "network": (5, ()),
    "always-equal": (3, ("answer not marked",)),
    "swaps-marking": (3, (TAMPERING,)),
    "quiet-tests": (0, (TAMPERING,)),
    "rewrites-tests": (0, (TAMPERING,)),
    "fake-marking-module": (0, (TAMPERING,)),
    "marking-file": (0, ("extra files in the submission: digiready/",)),
    "computed-answer": (3, ("answer not marked",)),
    "html-reflection": (5, ("HTML or script in the notebook",)),
    "extra-files": (5, ("extra files in the submission: digiready/, json.py",)),
    "deep-folder": (5, ()),
    "startup-file": (5, ()),
    "stops-server": (5, ()),
    "server-socket": (5, ()),
    "shm-writer": (5, ()),
    "shm-reader": (5, ()),
    "terminal-escapes": (5, ()),
    "huge-errors": (5, ("output was cut",)),
    "slow-cells": (5, ("ran past the notebook's time budget", FEWER)),
}


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[int, list[Any]]]:
    """A TCP server on the host's loopback that records every connection it gets."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[1])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def graded(
    built_fixture_course: CourseLayout,
    tmp_path_factory: pytest.TempPathFactory,
    listener: tuple[int, list[Any]],
) -> tuple[Path, dict[str, Outcome]]:
    """The whole catalogue plus good students, graded in one sandboxed run."""
    root = tmp_path_factory.mktemp("hostile") / "course"
    prepare_course(built_fixture_course, [FIXTURE], root)
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write("\nc.Execute.timeout = 5\nc.ForkedExecute.notebook_budget = 25\n")
    solution_path = built_fixture_course.module_notebook(built_fixture_course.solutions, FIXTURE)

    def solution() -> Any:
        return read_notebook(solution_path)

    def folder(student: str) -> Path:
        path = submission_dir(root, FIXTURE, student)
        path.mkdir(parents=True)
        return path

    for student in GOOD_STUDENTS:
        nbformat.write(solution(), folder(student) / f"{FIXTURE}.ipynb")
    (folder("invalid-json") / f"{FIXTURE}.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder("empty-file") / f"{FIXTURE}.ipynb").write_bytes(b"")
    nbformat.write(nbformat.convert(solution(), 3), folder("old-nbformat") / f"{FIXTURE}.ipynb",
                   version=3)
    (folder("missing-notebook") / "answers.txt").write_text("b, a c", encoding="utf-8")
    nbformat.write(solution(), folder("renamed") / f"Copy of {FIXTURE}.ipynb")
    extra = folder("extra-notebooks")
    nbformat.write(solution(), extra / f"{FIXTURE}.ipynb")
    nbformat.write(_answer("m99_q1_1", "raise SystemExit")(solution()),
                   extra / "scratch.ipynb")
    extra_files = folder("extra-files")
    nbformat.write(solution(), extra_files / f"{FIXTURE}.ipynb")
    attacks.write_extra_files(root, extra_files)
    for student, edit in _cases(root, listener[0]).items():
        nbformat.write(edit(solution()), folder(student) / f"{FIXTURE}.ipynb")
    fake = submission_dir(root, FIXTURE, "marking-file") / "digiready"
    fake.mkdir()
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "marking.py").write_text(
        "def __getattr__(name):\n    return lambda *args, **kwargs: 5.0\n", encoding="utf-8")
    limits = Limits(cpu_seconds=60, memory_bytes=2 * 1024**3, processes=48)
    outcomes = grade_cohort(root, FIXTURE, workers=2, limits=limits)
    return root, {outcome.student: outcome for outcome in outcomes}


def _outputs(root: Path, student: str) -> str:
    notebook = read_notebook(autograded_dir(root, FIXTURE, student) / f"{FIXTURE}.ipynb")
    return "\n".join(str(output.get("text", "")) + str(output.get("ename", ""))
                     + str(output.get("evalue", ""))
                     for cell in notebook.cells for output in cell.get("outputs", []))


def test_every_submission_has_its_defined_outcome(
    graded: tuple[Path, dict[str, Outcome]],
) -> None:
    root, outcomes = graded
    assert sorted(outcomes) == sorted(EXPECTED)
    for student, (score, words) in EXPECTED.items():
        outcome = outcomes[student]
        assert (outcome.score, outcome.max_score) == (score, 9), (student, outcome)
        for word in words:
            assert any(word in flag for flag in outcome.flags), (student, outcome.flags)
        assert outcome.flagged == bool(words), (student, outcome.flags)
        assert flag_reasons(root, FIXTURE, student) == list(outcome.flags), student


def test_gradebook_is_intact_and_lists_everyone(graded: tuple[Path, dict[str, Outcome]]) -> None:
    root, _ = graded
    with sqlite3.connect(root / "gradebook.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        students = {row[0] for row in database.execute("SELECT id FROM student")}
    assert students == set(EXPECTED)


def test_nothing_outside_the_sandbox_was_read_or_written(
    graded: tuple[Path, dict[str, Outcome]], listener: tuple[int, list[Any]],
) -> None:
    root, _ = graded
    read = _outputs(root, "reads-secrets")
    assert "DONE" not in read and read.count("REFUSED") == 5
    written = _outputs(root, "writes-outside")
    assert "DONE" not in written and written.count("REFUSED") == 4
    assert not (root / "written-by-student").exists()
    assert not Path("/tmp/written-by-student").exists()
    assert not (Path.home() / "written-by-student").exists()
    assert "REFUSED" in _outputs(root, "network") and listener[1] == []


def test_limits_hold(graded: tuple[Path, dict[str, Outcome]]) -> None:
    root, _ = graded
    assert "MemoryError" in _outputs(root, "memory")
    assert "fork refused" in _outputs(root, "fork-bomb")
    autograded = autograded_dir(root, FIXTURE, "huge-output") / f"{FIXTURE}.ipynb"
    assert autograded.stat().st_size < 5_000_000



def test_attacks_on_the_sandbox_reach_nothing(graded: tuple[Path, dict[str, Outcome]]) -> None:
    """Issue 10: extra files never run on the host; no SysV memory, server socket or scratch
    root is shared between kernels; error outputs are capped too."""
    root, _ = graded
    assert sorted(p.name for p in root.glob("imported-*")) == []
    assert "DEEP FOLDER MADE" in _outputs(root, "deep-folder")
    assert "STARTUP FILE WRITTEN" in _outputs(root, "startup-file")
    assert "SHM CREATED" in _outputs(root, "shm-writer")
    assert attacks.SHM_SECRET not in _outputs(root, "shm-reader")
    socket_attack = _outputs(root, "server-socket")
    assert "CONNECTED" not in socket_attack and "WROTE" not in socket_attack, socket_attack
    errors = autograded_dir(root, FIXTURE, "huge-errors") / f"{FIXTURE}.ipynb"
    assert errors.stat().st_size < 5_000_000
    assert "ValueError" in _outputs(root, "huge-errors")
