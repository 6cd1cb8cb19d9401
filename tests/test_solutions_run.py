"""nbval (--nbval-lax) runs every built solution clean, on a scratch copy so nothing a notebook
writes (such as a saved CPD plan) lands in solutions/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COMPLETE_MODULES, REPO


@pytest.mark.parametrize("module", COMPLETE_MODULES)
def test_solution_runs_clean_under_nbval(module: str, tmp_path: Path) -> None:
    copy = tmp_path / module
    shutil.copytree(REPO.solutions / module, copy)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(copy / f"{module}.ipynb"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
