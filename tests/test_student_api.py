"""Notebooks have one stable entry point, `digiready.student`, and what it pulls in is only the
student runtime: never grading, reporting, the LMS tools or nbgrader (that code must not run in
a student's kernel, nor inside the grading sandbox)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import nbformat

from conftest import REPO
from digiready import student
from digiready.course.curriculum import course_curriculum

# The student runtime is `digiready.student` on the course model (and the top package itself);
# anything else of digiready's is instructor tooling.
STUDENT_RUNTIME_PARTS = ("digiready.student", "digiready.course", "digiready.deferred_imports")
NEVER_IN_A_KERNEL = ("nbgrader", "sqlalchemy", "typer", "rich")


def _imported_by_the_student_api() -> list[str]:
    code = ("import json, sys, digiready.student\n"
            "print(json.dumps(sorted(m for m in sys.modules)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return list(json.loads(run.stdout.splitlines()[-1]))


def test_the_student_api_imports_only_the_student_runtime() -> None:
    modules = _imported_by_the_student_api()
    ours = {name for name in modules if name.split(".")[0] == "digiready"}
    outside = sorted(name for name in ours if name != "digiready"
                     and not name.startswith(STUDENT_RUNTIME_PARTS))
    assert not outside, outside
    assert not [name for name in modules if name.split(".")[0] in NEVER_IN_A_KERNEL]


def test_every_name_the_notebooks_import_is_in_the_student_api() -> None:
    for module in course_curriculum(REPO.root).complete_modules:
        notebook = nbformat.read(REPO.module_notebook(REPO.source, module.id), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(str(cell.source))):
                if isinstance(node, ast.ImportFrom) and node.module == "digiready.student":
                    names = {alias.name for alias in node.names}
                    assert names <= set(student.__all__), (module.id, names)
        setup = next(c for c in notebook.cells if "install_help(" in c.source)
        assert "from digiready.student import (" in setup.source, module.id
    assert json.dumps(sorted(student.__all__)) == json.dumps(student.__all__)
