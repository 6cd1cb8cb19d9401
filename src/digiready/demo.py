"""`digiready demo`: grade each complete module's solution and untouched release as two students."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from digiready.curriculum import load_curriculum
from digiready.grading import grade_notebooks
from digiready.items import graded_items, read_notebook
from digiready.paths import CourseLayout
from digiready.scores import CapabilityScore, auto_scores_by_capability, item_scores

DEMO_STUDENTS = {"demo-solution": "solutions", "demo-untouched": "assignments"}


@dataclass(frozen=True)
class ModuleDemo:
    """The per-capability scores of the demo students on one module."""

    module: str
    scores: list[CapabilityScore]


def run_demo(layout: CourseLayout, demo_root: Path) -> list[ModuleDemo]:
    """Grade the demo students on every complete module inside `demo_root` (made afresh)."""
    curriculum = load_curriculum(layout.curriculum)
    if demo_root.exists():
        shutil.rmtree(demo_root)
    results = []
    for module in curriculum.complete_modules:
        notebooks = {
            student: layout.module_notebook(layout.root / kind, module.id)
            for student, kind in DEMO_STUDENTS.items()
        }
        for path in notebooks.values():
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; run `digiready build` first")
        grade_notebooks(layout, module.id, notebooks, demo_root)
        items = graded_items(read_notebook(layout.module_notebook(layout.source, module.id)))
        scores = item_scores(demo_root, module.id, list(notebooks))
        results.append(ModuleDemo(module.id, auto_scores_by_capability(scores, items)))
    return results
