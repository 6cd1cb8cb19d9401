"""Every auto-graded item of every complete module (and the fixture module): the grader's mark,
decided outside the kernel from the answer cell's text, gives the solution full marks and the
untouched stub, each plausible wrong answer and an answer computed by other code less; the hidden
test run in a real kernel (as plain nbgrader does) gives exactly the grader's mark, and an object
that claims to equal everything earns nothing there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import COMPLETE_MODULES, FIXTURE, REPO, make_fixture_course
from digiready.course.items import graded_items, nbgrader_meta, read_notebook
from digiready.grading.answer_eval import evaluate_all
from digiready.grading.item_rules import item_rules
from digiready.grading.trusted_marking import mark_answers, master_tables
from kernel_harness import ALWAYS_EQUAL, Kernel

ITEMS_DIR = Path(__file__).resolve().parent / "items"
FIXTURE_ITEMS = {
    "m99_q1_1": {"variable": "answer_1_1", "wrong": ['"a"', '"c"']},
    "m99_q1_2": {"variable": "answer_1_2", "wrong": ['{"a"}', '{"a", "b", "c", "d"}']},
}


@dataclass(frozen=True)
class Item:
    module: str
    notebook: Path
    grade_id: str
    variable: str
    wrong: tuple[str, ...]


def _module_items(module: str, notebook: Path, spec: dict[str, Any]) -> Iterator[Item]:
    for grade_id, entry in spec.items():
        yield Item(module, notebook, grade_id, entry["variable"], tuple(entry["wrong"]))


def _all_items() -> list[Item]:
    fixture_root = Path(__file__).resolve().parent / ".fixture-course"
    items = []
    for module in COMPLETE_MODULES:
        spec = yaml.safe_load((ITEMS_DIR / f"{module}.yml").read_text(encoding="utf-8"))
        items += _module_items(module, REPO.module_notebook(REPO.source, module), spec)
    items += _module_items(
        FIXTURE, fixture_root / "course" / FIXTURE / f"{FIXTURE}.ipynb", FIXTURE_ITEMS
    )
    return items


ITEMS = _all_items()


@pytest.fixture(scope="session", autouse=True)
def _fixture_course() -> Iterator[None]:
    root = Path(__file__).resolve().parent / ".fixture-course"
    shutil.rmtree(root, ignore_errors=True)
    make_fixture_course(root)
    yield
    shutil.rmtree(root, ignore_errors=True)


class Session:
    """A kernel that has run the whole master notebook once, and its cells by grade id."""

    def __init__(self, notebook: Path, scratch: Path) -> None:
        self.notebook = read_notebook(notebook)
        folder = scratch / notebook.parent.name
        shutil.copytree(notebook.parent, folder)  # files the notebook writes stay out of course/
        self.kernel = Kernel(folder)
        self.kernel.run(ALWAYS_EQUAL)
        self.cells = {nbgrader_meta(c).get("grade_id"): c for c in self.notebook.cells}
        for cell in self.notebook.cells:
            if cell.cell_type == "code":
                self.kernel.run(cell.source)

    def score_with(self, item: Item, assignment: str, before: str = "") -> float:
        if before:
            self.kernel.run(before)
        self.kernel.run(assignment)
        return self.kernel.score(self.cells[f"{item.grade_id}_test"])

    def points(self, item: Item) -> float:
        return float(nbgrader_meta(self.cells[f"{item.grade_id}_test"])["points"])

    def grader_mark(self, item: Item, source: str) -> float:
        """The grader's mark for an answer cell holding `source`, decided outside any kernel."""
        rules = {key: rule for key, rule in item_rules(self.notebook).items()
                 if rule.answer_cell == item.grade_id}
        marks = mark_answers(rules, {item.grade_id: source}, master_tables(self.notebook),
                             evaluate_all)
        return marks[f"{item.grade_id}_test"].score


class SessionPool:
    """One kernel session per notebook, each in its own scratch copy of the module folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.open: dict[Path, Session] = {}

    def get(self, item: Item) -> Session:
        if item.notebook not in self.open:
            folder = self.scratch / f"{len(self.open)}"
            folder.mkdir()
            self.open[item.notebook] = Session(item.notebook, folder)
        return self.open[item.notebook]

    def close(self) -> None:
        for session in self.open.values():
            session.kernel.close()


@pytest.fixture(scope="session")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionPool]:
    pool = SessionPool(tmp_path_factory.mktemp("items"))
    yield pool
    pool.close()


@pytest.mark.parametrize("module", sorted({i.module for i in ITEMS}))
def test_every_autograded_item_has_wrong_answers_listed(module: str) -> None:
    notebook = next(i.notebook for i in ITEMS if i.module == module)
    auto = {
        item.grade_id.removesuffix("_test")
        for item in graded_items(read_notebook(notebook))
        if item.kind == "auto"
    }
    listed = {i.grade_id for i in ITEMS if i.module == module}
    assert listed == auto, f"tests/items/{module}.yml must list exactly the auto-graded items"
    assert all(i.wrong for i in ITEMS if i.module == module)


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.grade_id)
def test_item_is_fair_and_cannot_be_gamed(sessions: SessionPool, item: Item) -> None:
    session = sessions.get(item)
    full = session.points(item)
    solution = session.cells[item.grade_id].source
    assert session.grader_mark(item, solution) == full, "the solution must earn full marks"
    assert session.score_with(item, solution) == full, "the hidden test agrees"
    stub = f"{item.variable} = ..."
    assert session.grader_mark(item, stub) == 0.0, "the stub must earn 0"
    assert session.score_with(item, stub) == 0.0
    for wrong in item.wrong:
        answer = f"{item.variable} = {wrong}"
        mark = session.grader_mark(item, answer)
        assert mark < full, f"wrong answer {wrong}"
        assert session.score_with(item, answer) == mark, f"kernel and grader differ on {wrong}"
    computed = f"_value = {item.wrong[0]}\n{item.variable} = _value"
    assert session.grader_mark(item, computed) == 0.0, "an answer computed elsewhere earns 0"
    assert session.score_with(item, f"{item.variable} = _AlwaysEqual()") == 0.0
