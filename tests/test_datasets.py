"""Datasets load the same from any folder, and a wrong name is a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import REPO
from digiready.student.datasets import available, data_dir, load


def test_loads_from_any_working_directory(tmp_path: Path) -> None:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        referrals = load("referrals")
    finally:
        os.chdir(here)
    assert len(referrals) > 0
    assert data_dir().resolve() == REPO.data.resolve()


def test_blank_text_stays_empty_string() -> None:
    referrals = load("referrals")
    assert (referrals.loc[referrals["online_element"] == "no", "four_cs"] == "").all()


def test_unknown_dataset_names_file_and_choices() -> None:
    with pytest.raises(FileNotFoundError, match=r"no dataset called 'referral'.*referrals"):
        load("referral")
    assert "referrals" in available()
