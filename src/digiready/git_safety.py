"""Student data must never land in git: warn before writing it where git would pick it up.

The repository's `.gitignore` ignores the folders digiready writes student data into (report/,
exports/, feedback/, submitted/, gradebook.db, gradebook-backups/, class lists). A course kept
in another git work tree may not: `unignored_warning` says so before a command writes there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _git(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None or not folder.is_dir():
        return None
    try:
        return subprocess.run(
            [git, "-C", str(folder), *arguments],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def unignored_warning(path: Path, is_folder: bool = False) -> str:
    """A one-line warning when `path` (a file, or with `is_folder` a folder, about to hold
    student data) is inside a git work tree that does not ignore it; '' otherwise (or when git
    is not installed)."""
    folder = path if is_folder else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != "true":
        return ""
    probe = path / "student-data" if is_folder else path  # "report/" matches what is inside
    ignored = _git(folder, "check-ignore", "-q", "--no-index", str(probe.absolute()))
    if ignored is None or ignored.returncode == 0:
        return ""
    return (
        f"warning: {path} holds student data and is inside a git work tree that does not "
        "ignore it: add it to .gitignore so it is never committed"
    )
