"""The curriculum map (`course/curriculum.yml`): modules, capabilities, levels and pathways."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from digiready.paths import CURRICULUM_FILE, SOURCE_DIR, CourseRootNotFound, find_course_root
from digiready.yaml_model import load_yaml_model

Section = Literal["Purpose", "Practice", "Impact"]
HEE_LEVELS = (1, 2, 3, 4)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Capability(_Strict):
    """One capability of the Statement that graded items evidence."""

    id: str = Field(pattern=r"^(purpose|practice|impact)\.[a-z_]+$")
    section: Section
    title: str
    description: str
    can_statements: list[str] = Field(min_length=4, max_length=4)
    pcf_domains: list[str]
    hee_domains: list[str]
    swe_standards: list[str]
    qaa_heading: str


class Module(_Strict):
    """One module: a folder `course/<id>/<id>.ipynb` once it is written."""

    id: str = Field(pattern=r"^\d\d-[a-z0-9-]+$")
    title: str
    kind: Literal["self-audit", "teaching", "capstone", "refresher"]
    minutes: int = Field(gt=0, le=180)
    status: Literal["planned", "complete"]
    statement_section: Literal["Overview", "Purpose", "Practice", "Impact", "All"]
    capabilities: list[str] = Field(min_length=1)
    outcomes: list[str] = Field(min_length=3, max_length=5)
    pcf_domains: list[str]
    hee_domains: list[str]
    swe_standards: list[str]

    @property
    def number(self) -> str:
        """The two-digit number that prefixes grade ids (`m09_...`)."""
        return self.id[:2]


class Pathway(_Strict):
    """A named list of modules for one audience."""

    id: str
    title: str
    audience: str
    required: list[str]
    optional: list[str]


class Curriculum(_Strict):
    """The whole curriculum map, cross-checked on load."""

    title: str
    version: int
    levels: dict[int, str]
    capabilities: list[Capability]
    modules: list[Module]
    pathways: list[Pathway]

    @model_validator(mode="after")
    def _cross_references(self) -> Curriculum:
        if tuple(sorted(self.levels)) != HEE_LEVELS:
            raise ValueError("levels must be exactly 1, 2, 3 and 4")
        capability_ids = {c.id for c in self.capabilities}
        module_ids = [m.id for m in self.modules]
        if len(set(module_ids)) != len(module_ids):
            raise ValueError("module ids must be unique")
        for module in self.modules:
            unknown = set(module.capabilities) - capability_ids
            if unknown:
                raise ValueError(f"module {module.id}: unknown capabilities {sorted(unknown)}")
        for pathway in self.pathways:
            unknown = set(pathway.required + pathway.optional) - set(module_ids)
            if unknown:
                raise ValueError(f"pathway {pathway.id}: unknown modules {sorted(unknown)}")
        return self

    def module(self, module_id: str) -> Module:
        """The module with this id; KeyError names it when unknown."""
        for module in self.modules:
            if module.id == module_id:
                return module
        raise KeyError(f"no module {module_id!r} in curriculum.yml")

    def capability(self, capability_id: str) -> Capability:
        """The capability with this id; KeyError names it when unknown."""
        for capability in self.capabilities:
            if capability.id == capability_id:
                return capability
        raise KeyError(f"no capability {capability_id!r} in curriculum.yml")

    @property
    def complete_modules(self) -> list[Module]:
        return [m for m in self.modules if m.status == "complete"]


class CurriculumError(ValueError):
    """curriculum.yml is missing, not YAML, or does not fit the schema."""


_PACKAGE = Path(__file__).resolve().parent


def course_curriculum(start: Path | None = None) -> Curriculum:
    """The curriculum of the course root above `start` (default: here), else the one packed
    with digiready (an installed wheel) or of this source checkout."""
    try:
        return load_curriculum(find_course_root(start).curriculum)
    except CourseRootNotFound:
        return load_curriculum(packaged_curriculum())


def packaged_curriculum() -> Path:
    """curriculum.yml packed with digiready (an installed wheel), else this source checkout's."""
    bundled = _PACKAGE / CURRICULUM_FILE
    return bundled if bundled.is_file() else _PACKAGE.parents[1] / SOURCE_DIR / CURRICULUM_FILE


def load_curriculum(path: Path) -> Curriculum:
    """Read and validate curriculum.yml, naming the file in every error."""
    return load_yaml_model(path, Curriculum, CurriculumError, "curriculum")
