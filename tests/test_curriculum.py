"""The curriculum map covers the whole Statement and fits its schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO, STATEMENT_CAPABILITIES
from digiready.course.curriculum import Curriculum, CurriculumError, load_curriculum

CROSS_CUTTING = {"cross.data_and_numeracy"}


def test_every_part_of_the_statement_is_taught(curriculum: Curriculum) -> None:
    """The Statement's 12 capabilities, plus the course's data and numeracy skill (mapped to
    the QAA heading), are each taught by a teaching module; its Ethical considerations too."""
    assert {c.id for c in curriculum.capabilities if c.in_statement} == set(STATEMENT_CAPABILITIES)
    assert {c.id for c in curriculum.capabilities if not c.in_statement} == CROSS_CUTTING
    data = curriculum.capability("cross.data_and_numeracy")
    assert data.qaa_heading == "Use of technology and numerical skills"
    teaching = [m for m in curriculum.modules if m.kind == "teaching"]
    covered = {c for m in teaching for c in m.capabilities}
    assert covered == set(STATEMENT_CAPABILITIES) | CROSS_CUTTING
    assert any("Ethical considerations" in m.statement_parts for m in teaching)
    assert len(curriculum.modules) >= 18
    kinds = [m.kind for m in curriculum.modules]
    assert (
        kinds.count("self-audit") == 1
        and kinds.count("capstone") == 1
        and kinds.count("refresher") == 3
    )
    assert (
        curriculum.module("09-online-safeguarding").title
        == "Online safeguarding of children and adults"
    )


def test_pathways(curriculum: Curriculum) -> None:
    pathways = {p.id: p for p in curriculum.pathways}
    teaching = {m.id for m in curriculum.modules if m.kind in ("teaching", "capstone")}
    assert teaching <= set(pathways["qualifying"].required)
    refreshers = {m.id for m in curriculum.modules if m.kind == "refresher"}
    assert set(pathways["nqsw-refresher"].required) == {"00-self-audit"} | refreshers
    assert pathways["cpd"].required == ["00-self-audit"]
    assert set(pathways["cpd"].optional) == {m.id for m in curriculum.modules} - {"00-self-audit"}


def test_unknown_capability_is_named(tmp_path: Path) -> None:
    text = REPO.curriculum.read_text(encoding="utf-8").replace(
        "- practice.online_safeguarding", "- practice.online_safeguardin", 1
    )
    path = tmp_path / "curriculum.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CurriculumError, match=r"(?s)curriculum\.yml.*practice\.online_safeguardin"):
        load_curriculum(path)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yml"
    path.write_text(
        REPO.curriculum.read_text(encoding="utf-8") + "\nsurprise: 1\n", encoding="utf-8"
    )
    with pytest.raises(CurriculumError, match="surprise"):
        load_curriculum(path)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = REPO.curriculum.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "curriculum.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_every_module_states_its_jurisdiction(curriculum: Curriculum) -> None:
    """Law is stated with its scope: every module says where its law applies; 09's Care Act,
    KCSIE and SWE content is England's, with notes for the other three nations."""
    assert all(m.jurisdiction is not None for m in curriculum.modules)
    m09 = curriculum.module("09-online-safeguarding").jurisdiction
    assert m09 is not None and m09.applies_in == "england"
    assert m09.wales and "Mental Capacity Act 2005 applies in Wales" in m09.wales


def test_jurisdiction_needs_notes_for_the_other_nations(tmp_path: Path) -> None:
    path = _edited(tmp_path, "      applies_in: not-applicable", "      applies_in: england")
    with pytest.raises(CurriculumError, match="add a note for northern_ireland, scotland, wales"):
        load_curriculum(path)


def test_ethical_considerations_must_be_taught(tmp_path: Path) -> None:
    path = _edited(tmp_path, "    statement_parts:\n      - Ethical considerations\n", "")
    with pytest.raises(CurriculumError, match="no module teaches the Statement's Ethical"):
        load_curriculum(path)


def test_capability_id_matches_its_section(tmp_path: Path) -> None:
    path = _edited(tmp_path, "  - id: cross.data_and_numeracy",
                   "  - id: practice.data_and_numeracy")
    with pytest.raises(CurriculumError, match="Cross-cutting capability's id starts with 'cross'"):
        load_curriculum(path)


def test_the_readme_module_table_agrees_with_the_curriculum(curriculum: Curriculum) -> None:
    """The README's module table is written by hand: each complete module has its row, with
    the curriculum's title, minutes and status and a Run All figure; no planned module is
    listed as complete."""
    readme = (REPO.root / "README.md").read_text(encoding="utf-8")
    rows = {cells[0]: cells for cells in (
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in readme.splitlines() if re.match(r"\| \d\d-[a-z0-9-]+ \|", line))}
    complete = curriculum.complete_modules
    assert sorted(rows) == [module.id for module in complete]
    for module in complete:
        assert rows[module.id][1:4] == [module.title, str(module.minutes), "complete"], module.id
        assert re.fullmatch(r"\d+\.\d s", rows[module.id][4]), rows[module.id]
