"""The package is grouped by role, and its import graph runs one way: the course model at the
bottom, the student runtime on it, grading on both, and the instructor tools (authoring,
reporting, LMS, data generation, the command line) on top. A test of the real imports, read from
the source with `ast`, so a new module that reaches the wrong way fails here."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import digiready

PACKAGE = Path(digiready.__file__).resolve().parent

# For each part of the package, the other parts it may import. Parts not named here (the
# command line, the demo, the Lab launcher) sit on top and may import anything.
MAY_IMPORT: dict[str, set[str]] = {
    "course": set(),
    "marking": set(),
    "student": {"course"},
    "grading": {"course", "student", "marking"},
    "authoring": {"course", "student", "grading", "marking"},
    "reporting": {"course", "student", "grading"},
    "lms": {"course", "student", "grading"},
    "data": {"course", "student", "grading", "authoring"},
}


def _part(module: str) -> str:
    """`digiready.grading.sandbox` -> `grading`; `digiready.cli` -> `cli`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The digiready names a source file imports (`from digiready import x` gives
    `digiready.x`), whose second part says which part of the package they come from."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("digiready.")}


# The files inside a part with rules (the top-level tools may import any part).
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if _part(_module_name(p)) in MAY_IMPORT)


def test_every_part_of_the_package_is_placed() -> None:
    """Each file sits in a declared part or is a top-level tool; no stray subpackage."""
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(MAY_IMPORT) - {"marking"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_imports_run_one_way(path: Path) -> None:
    own = _part(_module_name(path))
    allowed = MAY_IMPORT[own] | {own}
    wrong = sorted(name for name in _imports(path) if _part(name) not in allowed)
    assert not wrong, f"{_module_name(path)} ({own}) imports {wrong}"


def test_the_one_way_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: a student-runtime file importing grading is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from digiready.grading.sandbox import SandboxUnavailable\n"
                   "import digiready.reporting.report\n")
    assert _imports(bad) == {"digiready.grading.sandbox.SandboxUnavailable",
                             "digiready.reporting.report"}
    assert {_part(n) for n in _imports(bad)} - MAY_IMPORT["student"] == {"grading", "reporting"}


HEAVY = ("nbgrader", "nbformat", "jsonschema", "pandas", "matplotlib", "jupyter_client",
         "sqlalchemy", "digiready.grading.cohort_grading")


def _loaded_after(code: str) -> set[str]:
    """The top-level and digiready modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_the_command_line_imports_no_heavy_module_until_a_command_needs_it() -> None:
    """`digiready --help` and argument errors answer at once: importing the CLI (which is all
    they need) loads none of nbgrader, pandas, Jupyter or the grader."""
    loaded = _loaded_after("import digiready.cli")
    assert "typer" in loaded
    assert not loaded & set(HEAVY)


def test_rfc3987_syntax_is_imported_only_when_an_iri_is_checked() -> None:
    """jsonschema's IRI checker (built on import by rfc3987_syntax, seconds of start-up) is a
    stand-in until an IRI is checked, and then checks as before."""
    loaded = _loaded_after("import digiready, nbformat")
    assert "jsonschema" in loaded and "rfc3987_syntax.syntax_helpers" not in loaded
    checked = _loaded_after(
        "import digiready\nfrom jsonschema import FormatChecker\n"
        "assert FormatChecker().conforms('http://example.org/caf\u00e9', 'iri')\n"
        "assert not FormatChecker().conforms('not an iri', 'iri')"
    )
    assert "rfc3987_syntax.syntax_helpers" in checked


def test_the_digiready_command_exits_without_collecting_what_it_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `digiready` script runs `cli.main`, which freezes the garbage collector once the
    command has ended, however it ended (Python's last collections took about 0.3 s)."""
    from digiready import cli

    project = Path(digiready.__file__).parents[2] / "pyproject.toml"
    scripts = tomllib.loads(project.read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["digiready"] == "digiready.cli:main"
    frozen: list[bool] = []
    monkeypatch.setattr(cli.gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(sys, "argv", ["digiready", "no-such-command"])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 2
    assert frozen == [True]
