"""The curriculum map covers the whole Statement and fits its schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from digiready.curriculum import CurriculumError, load_curriculum

STATEMENT_CAPABILITIES = {
    "purpose.professional_standards",
    "purpose.involvement_and_rights",
    "purpose.inclusion_and_anti_oppression",
    "purpose.relationship_based_practice",
    "purpose.online_support_groups",
    "practice.online_lives_and_technology_needs",
    "practice.digital_service_delivery",
    "practice.ethical_decision_making",
    "practice.online_safeguarding",
    "practice.law_and_regulation",
    "impact.leadership_and_advocacy",
    "impact.digital_professionalism",
}


def test_every_part_of_the_statement_is_taught() -> None:
    curriculum = load_curriculum(REPO.curriculum)
    assert {c.id for c in curriculum.capabilities} == STATEMENT_CAPABILITIES
    teaching = [m for m in curriculum.modules if m.kind == "teaching"]
    assert {c for m in teaching for c in m.capabilities} == STATEMENT_CAPABILITIES
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


def test_pathways() -> None:
    curriculum = load_curriculum(REPO.curriculum)
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
