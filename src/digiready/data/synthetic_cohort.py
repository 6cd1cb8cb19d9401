"""A realistic synthetic cohort for the demo and the benchmark, built from the release notebooks.

Each synthetic student has an ability between 0 and 1. For every answer cell they give the
model answer with that probability; otherwise a plausible wrong answer (the model answer
perturbed: another letter, a letter dropped or added, two matches swapped, steps reordered, a
number off by some), and now and then nothing at all (the stub stays). Some students write a
reflection; some submit late. The same seed always gives the same cohort.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat

from digiready.authoring.build import write_notebook
from digiready.course.items import nbgrader_meta, read_notebook
from digiready.course.paths import CourseLayout

DEADLINE = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
LETTERS = "abcdefgh"


@dataclass(frozen=True)
class SyntheticStudent:
    student_id: str
    ability: float
    late: bool


def cohort(size: int, seed: int = 2020) -> list[SyntheticStudent]:
    """`size` students with ids like 0012345 (leading zeros kept), spread of ability."""
    rng = random.Random(seed)
    students = []
    for index in range(size):
        ability = min(1.0, max(0.05, rng.betavariate(4, 2)))
        student_id = f"{12001 + index * 37:07d}"
        students.append(SyntheticStudent(student_id, ability, rng.random() < 0.1))
    return students


def _perturb(value: Any, rng: random.Random) -> Any:
    """A plausible wrong version of a model answer literal."""
    if isinstance(value, str) and len(value) == 1:
        return rng.choice([letter for letter in LETTERS[:4] if letter != value])
    if isinstance(value, set):
        options = set(LETTERS[:4]) - value
        wrong = set(value)
        if len(wrong) > 1 and rng.random() < 0.5:
            wrong.discard(sorted(wrong)[0])
        if options:
            wrong.add(sorted(options)[rng.randrange(len(options))])
        return wrong
    if isinstance(value, dict) and len(value) > 1:
        keys = sorted(value)
        first, second = rng.sample(keys, 2)
        swapped = dict(value)
        swapped[first], swapped[second] = value[second], value[first]
        return swapped
    if isinstance(value, list) and len(value) > 1:
        wrong_order = list(value)
        while wrong_order == value:
            rng.shuffle(wrong_order)
        return wrong_order
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + rng.choice([-5, -2, 3, 10])
    return ...


def _assignment(source: str) -> tuple[str, str, Any] | None:
    """(name, value source, literal value or ...) of a model answer's single assignment."""
    code = "\n".join(line for line in source.splitlines() if "SOLUTION" not in line)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    assigns = [node for node in tree.body if isinstance(node, ast.Assign)]
    if len(assigns) != 1 or not isinstance(assigns[0].targets[0], ast.Name):
        return None
    value_source = ast.get_source_segment(code, assigns[0].value) or "..."
    try:
        value = ast.literal_eval(assigns[0].value)
    except ValueError:
        value = ...
    return assigns[0].targets[0].id, value_source, value


def _is_self_audit(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(pair, tuple) and len(pair) == 2 for pair in value.values()
    )


def _self_ratings(value: dict[str, tuple[int, int]], ability: float, rng: random.Random) -> Any:
    """A student's own (now, needed) ratings: confident students rate themselves higher."""
    ratings = {}
    for capability in value:
        now = min(4, max(1, round(1 + ability * 2.5 + rng.uniform(-1, 1))))
        ratings[capability] = (now, max(now, rng.choice([2, 3, 3, 4])))
    return ratings


def _answer(solution_source: str, stub_source: str, ability: float, rng: random.Random) -> str:
    """The stub with a right answer, a wrong one, or left blank."""
    parsed = _assignment(solution_source)
    roll = rng.random()
    if parsed is None or roll < 0.06:
        return stub_source
    name, value_source, value = parsed
    if _is_self_audit(value):
        value_source = repr(_self_ratings(value, ability, rng))
    elif roll >= 0.06 + ability * 0.94:
        wrong = _perturb(value, rng)
        value_source = "..." if wrong is ... else repr(wrong)
    stub_line = re.compile(rf"^{re.escape(name)} = \.\.\.$", re.MULTILINE)
    return stub_line.sub(lambda _match: f"{name} = {value_source}", stub_source, count=1)


def student_notebook(release: Path, solution: Path, student: SyntheticStudent, seed: int) -> Any:
    """The release notebook answered as this student would."""
    rng = random.Random(f"{seed}-{student.student_id}-{release.name}")
    notebook = read_notebook(release)
    solutions = {
        nbgrader_meta(cell).get("grade_id"): cell for cell in read_notebook(solution).cells
    }
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        model = solutions[meta["grade_id"]]
        if cell.cell_type == "code":
            cell.source = _answer(model.source, cell.source, student.ability, rng)
        elif rng.random() < 0.8:
            cell.source = (
                "I would start by asking about the person's own view of their online life."
            )
    return notebook


def write_submissions(
    root: Path,
    module: str,
    release: Path,
    solution: Path,
    students: list[SyntheticStudent],
    seed: int = 2020,
) -> None:
    """Write each student's notebook and timestamp into `root/submitted/<id>/<module>/`."""
    for student in students:
        folder = CourseLayout(root).submission(student.student_id, module)
        folder.mkdir(parents=True, exist_ok=True)
        notebook = student_notebook(release, solution, student, seed)
        nbformat.validate(notebook)
        write_notebook(notebook, folder / f"{module}.ipynb")
        offset = timedelta(hours=30) if student.late else -timedelta(hours=2)
        stamp = (DEADLINE + offset).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        (folder / "timestamp.txt").write_text(stamp, encoding="utf-8")
