"""The curriculum map (`course/curriculum.yml`): modules, capabilities, levels and pathways."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from digiready.course.paths import CURRICULUM_FILE, SOURCE_DIR, CourseRootNotFound, find_course_root
from digiready.course.yaml_model import load_yaml_model

# The Statement's three sections, and the course's own section for skills that run across them
# (data and numeracy, mapped to the QAA benchmark heading rather than to one Statement section).
Section = Literal["Purpose", "Practice", "Impact", "Cross-cutting"]
HEE_LEVELS = (1, 2, 3, 4)
STATEMENT_SECTIONS = ("Purpose", "Practice", "Impact")
# Parts of the Statement that are not one capability but must still be taught by some module.
StatementPart = Literal["Ethical considerations"]
STATEMENT_PARTS: tuple[StatementPart, ...] = ("Ethical considerations",)
NOT_APPLICABLE = "not-applicable"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Capability(_Strict):
    """One capability of the Statement that graded items evidence."""

    id: str = Field(pattern=r"^(purpose|practice|impact|cross)\.[a-z_]+$")
    section: Section
    title: str
    description: str
    can_statements: list[str] = Field(min_length=4, max_length=4)
    pcf_domains: list[str]
    hee_domains: list[str]
    swe_standards: list[str]
    qaa_heading: str

    @model_validator(mode="after")
    def _id_matches_section(self) -> Capability:
        prefix = "cross" if self.section == "Cross-cutting" else self.section.lower()
        if not self.id.startswith(prefix + "."):
            raise ValueError(f"capability {self.id}: a {self.section} capability's id starts "
                             f"with {prefix!r}")
        return self

    @property
    def in_statement(self) -> bool:
        """True for the Statement's own capabilities, False for cross-cutting course skills."""
        return self.section in STATEMENT_SECTIONS


class Jurisdiction(_Strict):
    """Where a module's law applies: `applies_in` names the nation(s) whose law the module
    teaches, and each other UK nation gets a short note on its own law and regulator.
    Modules without legal content say `applies_in: not-applicable` and need no notes."""

    applies_in: Literal["england", "england-and-wales", "uk", "not-applicable"]
    wales: str | None = None
    scotland: str | None = None
    northern_ireland: str | None = None

    @model_validator(mode="after")
    def _notes_for_other_nations(self) -> Jurisdiction:
        if self.applies_in == NOT_APPLICABLE:
            return self
        needed = {"scotland": self.scotland, "northern_ireland": self.northern_ireland}
        if self.applies_in == "england":
            needed["wales"] = self.wales
        missing = sorted(name for name, note in needed.items() if not note)
        if missing:
            raise ValueError(f"jurisdiction {self.applies_in}: add a note for {', '.join(missing)}")
        return self

    @property
    def has_law(self) -> bool:
        """True when the module teaches law, so it needs a jurisdiction box."""
        return self.applies_in != NOT_APPLICABLE


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
    # The practice areas whose Post-Qualifying Standards (formerly the knowledge and skills
    # statements) the module supports, for the NQSW/ASYE pathway; `digiready check` asks for
    # at least one in a complete module on that pathway.
    post_qualifying_standards: list[Literal["adult services", "child and family"]] = Field(
        default_factory=list
    )
    # Required for complete modules by `digiready check`.
    jurisdiction: Jurisdiction | None = None
    # Parts of the Statement beyond its capabilities that this module teaches.
    statement_parts: list[StatementPart] = Field(default_factory=list)

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
        taught = {part for module in self.modules for part in module.statement_parts}
        untaught = [part for part in STATEMENT_PARTS if part not in taught]
        if untaught:
            raise ValueError(f"no module teaches the Statement's {', '.join(untaught)}: add it "
                             "to a module's statement_parts")
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

    def pathway(self, pathway_id: str) -> Pathway:
        """The pathway with this id; KeyError names it when unknown."""
        for pathway in self.pathways:
            if pathway.id == pathway_id:
                return pathway
        raise KeyError(f"no pathway {pathway_id!r} in curriculum.yml")


class CurriculumError(ValueError):
    """curriculum.yml is missing, not YAML, or does not fit the schema."""


_PACKAGE = Path(__file__).resolve().parents[1]  # the digiready package


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
