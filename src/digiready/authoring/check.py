"""`digiready check`: everything that must hold in `course/` before a release.

Each check returns `Problem`s: the file, the cell, what is wrong and how to fix it. No check
stops the others, so one run lists every problem.
"""

from __future__ import annotations

import ast
import math
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml
from nbgrader.nbgraderformat import MetadataValidator, ValidationError

from digiready.authoring.build import build_into
from digiready.authoring.fingerprint import copied_runs, load_fingerprint
from digiready.authoring.item_guessing import Finding, example_findings, guess_findings
from digiready.authoring.module_standards import (
    jurisdiction_box_problem,
    rubric_findings,
    stated_minutes,
    time_estimate,
)
from digiready.course.curriculum import Curriculum, CurriculumError, load_curriculum
from digiready.course.items import graded_items, nbgrader_meta, read_notebook
from digiready.course.paths import RELEASE_DIR, SOLUTION_DIR, CourseLayout
from digiready.course.scenario import (
    ScenarioError,
    branching_steps,
    dead_end_steps,
    load_scenario,
    recommended_first_everywhere,
    steps_without_recommended,
    unreachable_steps,
)
from digiready.grading.item_rules import BEGIN_HIDDEN, RuleError, is_auto_test, parse_rule
from digiready.grading.trusted_marking import answer_sources, master_tables
from digiready.student.answer_reading import read_answer

GRADE_ID = re.compile(r"^m(\d\d)_[a-z0-9_]+$")
VALID_LEVELS = {1, 2, 3, 4}
WARNING = "warning"  # the marker of a problem that does not fail `digiready check`
NQSW_PATHWAY = "nqsw-refresher"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, said so that an author can fix it."""

    path: Path
    where: str
    message: str
    fix: str
    warning: bool = False  # reported, but `digiready check` still passes

    def __str__(self) -> str:
        marker = f"{WARNING}: " if self.warning else ""
        return f"{self.path}: {self.where}: {marker}{self.message} (fix: {self.fix})"


def _cell_name(cell: Any, index: int) -> str:
    grade_id = nbgrader_meta(cell).get("grade_id")
    return f"cell {index + 1}" + (f" [{grade_id}]" if grade_id else "")


def check_curriculum_folders(layout: CourseLayout, curriculum: Curriculum) -> Iterator[Problem]:
    """Every module folder is in curriculum.yml; every complete module has its notebook."""
    listed = {module.id for module in curriculum.modules}
    for folder in sorted(p for p in layout.source.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        if folder.name not in listed:
            yield Problem(
                folder,
                "folder",
                "module folder not listed in curriculum.yml",
                f"add a module with id {folder.name!r} to curriculum.yml or remove it",
            )
    for module in curriculum.complete_modules:
        notebook = layout.module_notebook(layout.source, module.id)
        if not notebook.is_file():
            yield Problem(
                notebook,
                "file",
                f"module {module.id} is marked complete but has no notebook",
                "write the notebook or set its status to planned",
            )


def check_notebook(path: Path, curriculum: Curriculum, notebook: Any) -> Iterator[Problem]:
    """nbgrader metadata, stripped outputs, kernelspec, grade ids and item tags of one notebook."""
    module_number = path.parent.name[:2]
    try:
        MetadataValidator().validate_nb(notebook)
    except ValidationError as error:
        yield Problem(path, "nbgrader metadata", str(error), "repair the cell's nbgrader metadata")
    if notebook.metadata.get("kernelspec", {}).get("name") != "python3":
        yield Problem(
            path,
            "notebook metadata",
            "kernelspec is not python3",
            "set the notebook's kernel to Python 3 (python3)",
        )
    capability_ids = {capability.id for capability in curriculum.capabilities}
    for index, cell in enumerate(notebook.cells):
        where = _cell_name(cell, index)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            yield Problem(
                path,
                where,
                "outputs are not stripped",
                "clear all outputs (Edit > Clear Outputs of All Cells) and save",
            )
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if meta.get("grade") or meta.get("solution"):
            match = GRADE_ID.match(str(grade_id))
            if not match or match.group(1) != module_number:
                yield Problem(
                    path,
                    where,
                    f"grade id {grade_id!r} does not follow m{module_number}_...",
                    f"name it m{module_number}_q<section>_<n> (tests: ..._test)",
                )
        if (
            cell.cell_type == "code"
            and meta.get("grade")
            and not cell.source.lstrip().startswith('"""')
        ):
            yield Problem(
                path,
                where,
                "test cell does not open with a docstring",
                'start the cell with """Checks ...""" saying what it checks',
            )
    for item in graded_items(notebook):
        where = _cell_name(notebook.cells[item.cell_index], item.cell_index)
        if item.completion:
            tags = notebook.cells[item.cell_index].metadata.get("digiready", {})
            if set(tags) != {"completion"}:
                yield Problem(path, where, "a completion item also carries other tags "
                              f"({', '.join(sorted(set(tags) - {'completion'}))})",
                              'tag it only "digiready": {"completion": true}: completion is '
                              "never evidence of a capability level")
            continue
        if item.capability not in capability_ids:
            yield Problem(
                path,
                where,
                f"graded cell has no known capability ({item.capability!r})",
                'add metadata "digiready": {"capability": <id from curriculum.yml>, ...}',
            )
        if item.level not in VALID_LEVELS:
            yield Problem(
                path,
                where,
                f"graded cell has no HEE level 1-4 ({item.level!r})",
                'add metadata "digiready": {"level": 1|2|3|4, ...}',
            )


def check_marking_rules(path: Path, notebook: Any) -> Iterator[Problem]:
    """Every auto-graded item can be marked outside the student's kernel: its test cell is one
    form check and one scoring call with literal arguments, and its model answer is a literal
    or a data expression in the grammar the grader evaluates."""
    sources = answer_sources(notebook)
    tables = master_tables(notebook)
    for index, cell in enumerate(notebook.cells):
        if not is_auto_test(cell):
            continue
        where = _cell_name(cell, index)
        meta = nbgrader_meta(cell)
        try:
            rule = parse_rule(str(cell.source), str(meta.get("grade_id")), float(meta["points"]))
        except (RuleError, KeyError, TypeError, ValueError) as error:
            yield Problem(path, where, f"the grader cannot mark this item: {error}",
                          "write the test as one check_... call and, between the hidden-tests "
                          "markers, one digiready.marking score_... call with literal arguments")
            continue
        answer = read_answer(sources.get(rule.answer_cell, ""), rule.answer_name, tables)
        if answer.kind not in ("literal", "expression"):
            problem = answer.problem or "it is not answered"
            yield Problem(path, where, f"the model answer in {rule.answer_cell} cannot be "
                          f"marked: {problem}",
                          f"write {rule.answer_name} = <a literal, or a short pandas expression "
                          "on a table loaded with load(...)>")


STUDENT_API = "digiready.student"


def _digiready_imports(source: str) -> list[str]:
    """The digiready modules a cell's visible code imports (hidden tests left out)."""
    try:
        tree = ast.parse(source.split(BEGIN_HIDDEN)[0])
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [name for name in names if name.split(".")[0] == "digiready"]


def check_student_imports(path: Path, notebook: Any) -> Iterator[Problem]:
    """A module notebook imports from digiready only through `digiready.student`."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for name in _digiready_imports(str(cell.source)):
            if name != STUDENT_API:
                yield Problem(path, _cell_name(cell, index), f"imports {name}",
                              f"import what the notebook uses from {STUDENT_API} (the one "
                              "stable entry point for notebooks)")


def check_module_capabilities(
    path: Path, curriculum: Curriculum, notebook: Any
) -> Iterator[Problem]:
    """curriculum.yml lists for the module exactly the capabilities its graded items evidence
    (completion items aside)."""
    try:
        module = curriculum.module(path.parent.name)
    except KeyError:
        return  # reported by check_curriculum_folders
    tagged = {item.capability for item in graded_items(notebook) if item.capability}
    listed = set(module.capabilities)
    if tagged != listed:
        missing = ", ".join(sorted(tagged - listed)) or "none"
        extra = ", ".join(sorted(listed - tagged)) or "none"
        yield Problem(path, "curriculum.yml", f"module {module.id} lists capabilities that its "
                      f"items do not evidence ({extra}) or misses ones they do ({missing})",
                      f"make {module.id}'s capabilities in curriculum.yml exactly those its "
                      "graded cells are tagged with")


def check_module_standards(
    path: Path, curriculum: Curriculum, notebook: Any
) -> Iterator[Problem]:
    """A complete module states its jurisdiction in curriculum.yml and, where it teaches law,
    has a jurisdiction box; on the NQSW pathway it names the Post-Qualifying Standards areas it
    supports; its front matter states the minutes curriculum.yml gives. A warning (not a
    failure) when those minutes are below the reading-time estimate."""
    try:
        module = curriculum.module(path.parent.name)
    except KeyError:
        return  # reported by check_curriculum_folders
    if module.status != "complete":
        return
    if module.jurisdiction is None:
        yield Problem(path, "curriculum.yml", f"module {module.id} has no jurisdiction",
                      "add jurisdiction: {applies_in: england, wales: ..., scotland: ..., "
                      "northern_ireland: ...}, or {applies_in: not-applicable} without law")
    elif module.jurisdiction.has_law:
        problem = jurisdiction_box_problem(notebook)
        if problem:
            yield Problem(path, "jurisdiction box", problem,
                          "add a text cell headed 'Where this law applies': what applies in "
                          "England, and the position in Wales, Scotland and Northern Ireland")
    try:
        nqsw = curriculum.pathway(NQSW_PATHWAY).required + curriculum.pathway(NQSW_PATHWAY).optional
    except KeyError:
        nqsw = []
    if module.id in nqsw and not module.post_qualifying_standards:
        yield Problem(path, "curriculum.yml", f"module {module.id} is on the {NQSW_PATHWAY} "
                      "pathway but names no Post-Qualifying Standards it supports",
                      "add post_qualifying_standards: [adult services and/or child and family]")
    stated = stated_minutes(notebook)
    if stated is not None and stated != module.minutes:
        yield Problem(path, "front matter", f"the notebook says about {stated} minutes, "
                      f"curriculum.yml says {module.minutes}",
                      "make the front matter's **Time:** and curriculum.yml's minutes agree")
    estimate = time_estimate(notebook)
    if module.minutes + 1e-9 < estimate.minutes:
        yield Problem(path, "minutes", f"module {module.id} states {module.minutes} minutes, "
                      f"below the reading-time estimate of {math.ceil(estimate.minutes)} "
                      f"({estimate.explain()})",
                      "raise the minutes in curriculum.yml and the front matter, or cut text",
                      warning=True)


def check_rubrics(path: Path, curriculum: Curriculum, notebook: Any) -> Iterator[Problem]:
    """Every reflection is marked on the shared rubric grid (digiready.course.rubric)."""
    capability_ids = {capability.id for capability in curriculum.capabilities}
    for finding in rubric_findings(notebook, capability_ids):
        where = _cell_name(notebook.cells[finding.cell_index], finding.cell_index)
        yield Problem(path, where, finding.message, finding.fix)


def check_guessing(path: Path, notebook: Any) -> Iterator[Problem]:
    """No item gives marks away: every format example in a prompt or an answer cell's comments
    scores 0, and no positional guess (cases matched to categories in listed order, an order
    item answered a-b-c-d-e, every letter chosen) scores more than a third of the points."""
    findings: list[Finding] = []
    try:
        findings += example_findings(notebook)
        findings += guess_findings(notebook)
    except RuleError:
        return  # check_marking_rules reports the test cell the grader cannot read
    for finding in findings:
        where = _cell_name(notebook.cells[finding.cell_index], finding.cell_index)
        yield Problem(path, where, finding.message, finding.fix)


def _is_scenario(path: Path) -> bool:
    """A YAML file beside a notebook is a scenario when it has steps (or cannot be read)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return True
    return isinstance(raw, dict) and "steps" in raw


def check_scenario_file(path: Path) -> Iterator[Problem]:
    """A scenario loads, branches (some step's choices lead to two different steps), and has
    no step that the first step cannot reach or from which no path reaches an end."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        yield Problem(path, "file", f"not a valid scenario: {error}", "fix the YAML and the links")
        return
    if not branching_steps(scenario):
        yield Problem(path, "steps", "the scenario never branches: every step's choices lead to "
                      "the same next step", "give at least one step two defensible choices that "
                      "lead to different steps, each with its consequence")
    for step in unreachable_steps(scenario):
        yield Problem(path, f"step {step!r}", "no path from the first step reaches this step",
                      "lead a choice to it, or remove it")
    for step in dead_end_steps(scenario):
        yield Problem(path, f"step {step!r}", "no path from this step reaches an end",
                      "give a choice on its paths `next: null` (the end, then the debrief)")
    for step in steps_without_recommended(scenario):
        yield Problem(path, f"step {step!r}", "no choice is `recommended: true`, so the debrief "
                      "cannot set the student's choice here beside the recommended one",
                      "mark the choice the debrief's recommended path takes at this step")
    if recommended_first_everywhere(scenario):
        yield Problem(path, "steps", "the recommended choice is shown first at every step, so "
                      "students can learn to pick the top option",
                      "reorder the choices of a step in the YAML: the fixed shuffle then shows "
                      "them in another order")


def check_scenarios(layout: CourseLayout) -> Iterator[Problem]:
    """Every scenario file in every module folder."""
    for path in sorted(layout.source.glob("*/*.y*ml")):
        if _is_scenario(path):
            yield from check_scenario_file(path)


def check_unique_grade_ids(notebooks: dict[Path, Any]) -> Iterator[Problem]:
    """No grade id is used twice anywhere in the course."""
    seen: dict[str, Path] = {}
    for path, notebook in notebooks.items():
        for index, cell in enumerate(notebook.cells):
            grade_id = nbgrader_meta(cell).get("grade_id")
            if not grade_id:
                continue
            if grade_id in seen:
                yield Problem(
                    path,
                    _cell_name(cell, index),
                    f"grade id {grade_id!r} is used twice",
                    f"rename it; it is also used in {seen[grade_id]}",
                )
            seen.setdefault(grade_id, path)


def check_copying(
    paths_and_texts: list[tuple[Path, str, str]], fingerprint: frozenset[str]
) -> Iterator[Problem]:
    """No run of 12 or more words taken from the source documents."""
    for path, where, text in paths_and_texts:
        for passage in copied_runs(text, fingerprint):
            yield Problem(
                path,
                where,
                f'copied from the sources: "{passage}"',
                "say it in your own words and cite the source",
            )


def _texts(layout: CourseLayout, notebooks: dict[Path, Any]) -> list[tuple[Path, str, str]]:
    texts = [(layout.curriculum, "file", layout.curriculum.read_text(encoding="utf-8"))]
    for path, notebook in notebooks.items():
        texts += [(path, _cell_name(cell, i), cell.source) for i, cell in enumerate(notebook.cells)]
        texts += [
            (extra, "file", extra.read_text(encoding="utf-8"))
            for extra in sorted(path.parent.glob("*.y*ml"))
        ]
    return texts


def _comparable(path: Path, with_outputs: bool) -> Any:
    notebook = nbformat.read(path, as_version=4)
    if not with_outputs:
        for cell in notebook.cells:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return notebook


def check_in_sync(layout: CourseLayout, modules: list[str]) -> Iterator[Problem]:
    """`assignments/` and `solutions/` hold exactly what `digiready build` makes now."""
    with tempfile.TemporaryDirectory(prefix="digiready-check-") as scratch:
        fresh = Path(scratch)
        try:
            build_into(layout, modules, fresh)
        except Exception as error:  # nbgrader raises many types; report, do not crash
            yield Problem(
                layout.source,
                "build",
                f"nbgrader could not build: {error}",
                "run `digiready build` to see the full error",
            )
            return
        for kind, with_outputs in ((RELEASE_DIR, True), (SOLUTION_DIR, False)):
            for module in modules:
                expected_dir, actual_dir = fresh / kind / module, layout.root / kind / module
                expected = {
                    p.relative_to(expected_dir) for p in expected_dir.rglob("*") if p.is_file()
                }
                actual = (
                    {p.relative_to(actual_dir) for p in actual_dir.rglob("*") if p.is_file()}
                    if actual_dir.is_dir()
                    else set()
                )
                for name in sorted(expected ^ actual):
                    yield Problem(
                        actual_dir / name,
                        "file",
                        "missing or extra generated file",
                        "run `digiready build` and commit the result",
                    )
                for name in sorted(expected & actual):
                    same = (
                        _comparable(expected_dir / name, with_outputs)
                        == _comparable(actual_dir / name, with_outputs)
                        if name.suffix == ".ipynb"
                        else (expected_dir / name).read_bytes() == (actual_dir / name).read_bytes()
                    )
                    if not same:
                        yield Problem(
                            actual_dir / name,
                            "file",
                            "out of date with course/",
                            "run `digiready build` and commit the result; never edit it by hand",
                        )
    for kind in (RELEASE_DIR, SOLUTION_DIR):
        folder = layout.root / kind
        for extra in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
            if extra.name not in modules:
                yield Problem(
                    extra,
                    "folder",
                    "generated folder for a module that is not built",
                    "delete it, or add the module to course/ and curriculum.yml",
                )


def check_course(
    layout: CourseLayout, *, fingerprint: frozenset[str] | None = None, sync: bool = True
) -> list[Problem]:
    """Run every check on the course and return all problems found (warnings included:
    `Problem.warning` marks those that do not fail the check)."""
    try:
        curriculum = load_curriculum(layout.curriculum)
    except CurriculumError as error:
        return [Problem(layout.curriculum, "file", str(error), "fix curriculum.yml")]
    problems = list(check_curriculum_folders(layout, curriculum))
    notebooks: dict[Path, Any] = {}
    for path in sorted(layout.source.glob("*/*.ipynb")):
        try:
            notebooks[path] = read_notebook(path)
        except ValueError as error:
            problems.append(Problem(path, "file", str(error), "restore the notebook from git"))
    for path, notebook in notebooks.items():
        problems += check_notebook(path, curriculum, notebook)
        problems += check_marking_rules(path, notebook)
        problems += check_module_capabilities(path, curriculum, notebook)
        problems += check_student_imports(path, notebook)
        problems += check_module_standards(path, curriculum, notebook)
        problems += check_rubrics(path, curriculum, notebook)
        problems += check_guessing(path, notebook)
    problems += check_scenarios(layout)
    problems += check_unique_grade_ids(notebooks)
    problems += check_copying(
        _texts(layout, notebooks), load_fingerprint() if fingerprint is None else fingerprint
    )
    if sync:
        problems += check_in_sync(layout, sorted(path.parent.name for path in notebooks))
    return problems
