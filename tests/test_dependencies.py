"""Declared dependencies equal imported ones: every third-party package the code imports is in
pyproject.toml, and everything there is imported (JupyterLab aside: `digiready lab` runs it)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from conftest import REPO

# run, not imported: JupyterLab (a server), psycopg (the driver SQLAlchemy loads for postgresql://)
RUN_NOT_IMPORTED = {"jupyterlab", "psycopg"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_distributions() -> set[str]:
    modules: set[str] = set()
    for path in (REPO.root / "src" / "digiready").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"digiready"}
    distributions = packages_distributions()
    return {_canonical(distributions[module][0]) for module in third_party}


def _declared() -> set[str]:
    project = tomllib.loads((REPO.root / "pyproject.toml").read_text(encoding="utf-8"))
    return {_canonical(re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0])
            for spec in project["project"]["dependencies"]}


def test_declared_dependencies_equal_imported_ones() -> None:
    imported, declared = _imported_distributions(), _declared()
    assert imported - declared == set(), "imported but not declared in pyproject.toml"
    assert declared - imported - RUN_NOT_IMPORTED == set(), "declared but never imported"
