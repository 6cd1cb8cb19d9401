"""The demo's synthetic cohort: valid answers a student could type, readable self-audits,
ids with leading zeros, and the same cohort for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import COMPLETE_MODULES, write_synthetic
from digiready.course.items import nbgrader_meta, read_notebook
from digiready.data.synthetic_cohort import cohort
from digiready.student.self_audit import read_self_audit


def _write(root: Path, module: str, size: int = 12) -> list[str]:
    students = cohort(size)
    write_synthetic(root, module, students)
    return [s.student_id for s in students]


@pytest.mark.parametrize("module", COMPLETE_MODULES)
def test_every_answer_is_valid_python_and_varied(module: str, tmp_path: Path) -> None:
    ids = _write(tmp_path, module)
    sources: dict[str, set[str]] = {}
    for student in ids:
        notebook = read_notebook(tmp_path / "submitted" / student / module / f"{module}.ipynb")
        for cell in notebook.cells:
            meta = nbgrader_meta(cell)
            if meta.get("solution") and cell.cell_type == "code":
                compile(cell.source, f"{student}/{meta['grade_id']}", "exec")
                assert "SOLUTION" not in cell.source
                sources.setdefault(meta["grade_id"], set()).add(cell.source)
    assert all(len(variants) > 1 for variants in sources.values()), "answers vary by student"
    assert all(len(i) == 7 and i.startswith("00") for i in ids)


def test_self_audits_read_back(tmp_path: Path) -> None:
    module = "00-self-audit"
    ids = _write(tmp_path, module)
    readable = 0
    for student in ids:
        try:
            ratings = read_self_audit(tmp_path / "submitted" / student / module / f"{module}.ipynb")
        except ValueError:
            continue  # a student who left it blank
        readable += 1
        assert all(1 <= now <= needed <= 4 for now, needed in ratings.values())
    assert readable >= len(ids) * 0.75


def test_same_seed_same_cohort(tmp_path: Path) -> None:
    module = COMPLETE_MODULES[-1]
    _write(tmp_path / "a", module)
    _write(tmp_path / "b", module)
    first = sorted((tmp_path / "a").rglob("*.ipynb"))
    assert first and all(
        p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()
        for p in first
    )
