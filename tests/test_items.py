"""Every auto-graded item of every complete module (and the fixture module), in a real kernel:
the solution earns full marks; the untouched stub, each plausible wrong answer, an object that
claims to equal everything, and a wrong answer after the marking helpers were swapped out all
earn less."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FIXTURE, REPO, make_fixture_course
from digiready.curriculum import load_curriculum
from digiready.items import graded_items, nbgrader_meta, read_notebook
from kernel_harness import ALWAYS_EQUAL, TAMPER, Kernel

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
    for module in load_curriculum(REPO.curriculum).complete_modules:
        spec = yaml.safe_load((ITEMS_DIR / f"{module.id}.yml").read_text(encoding="utf-8"))
        items += _module_items(module.id, REPO.module_notebook(REPO.source, module.id), spec)
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
    assert session.score_with(item, solution) == full, "the solution must earn full marks"
    assert session.score_with(item, f"{item.variable} = ...") == 0.0, "the stub must earn 0"
    for wrong in item.wrong:
        assert session.score_with(item, f"{item.variable} = {wrong}") < full, (
            f"wrong answer {wrong}"
        )
    assert session.score_with(item, f"{item.variable} = _AlwaysEqual()") == 0.0
    tampered = session.score_with(item, f"{item.variable} = {item.wrong[0]}", before=TAMPER)
    assert tampered < full, "swapping the marking helpers must not earn marks"
    assert session.score_with(item, solution) == full, "marking works again after tampering"
