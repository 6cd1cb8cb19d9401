"""The real course: check is clean, the demo grades each complete module, the CLI runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO
from digiready.cli import app
from digiready.course_check import check_course
from digiready.curriculum import load_curriculum
from digiready.demo import run_demo


def test_course_check_is_clean() -> None:
    problems = check_course(REPO)
    assert problems == [], "\n".join(map(str, problems))


@pytest.fixture
def in_repo() -> Iterator[None]:
    here = Path.cwd()
    os.chdir(REPO.root)
    yield
    os.chdir(here)


def test_demo_gives_solution_full_marks_and_release_zero(tmp_path: Path) -> None:
    results = run_demo(REPO, tmp_path / "demo")
    complete = [m.id for m in load_curriculum(REPO.curriculum).complete_modules]
    assert [r.module for r in results] == complete
    for result in results:
        solution = [s for s in result.scores if s.student == "demo-solution"]
        untouched = [s for s in result.scores if s.student == "demo-untouched"]
        assert solution and all(s.earned == s.available > 0 for s in solution), result.module
        assert untouched and all(s.earned == 0 for s in untouched), result.module


def test_cli_check_without_sync(in_repo: None) -> None:
    result = CliRunner().invoke(app, ["check", "--no-sync"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_cli_outside_a_course_says_where(tmp_path: Path) -> None:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["check"])
    finally:
        os.chdir(here)
    assert result.exit_code == 2
    assert "run digiready in the course root" in result.output
