"""Load the course's synthetic datasets, wherever the notebook runs.

The files live in the repository's `data/` folder and are packed into the wheel as
`digiready/datasets/`, so a notebook in `course/`, `assignments/`, `solutions/`, an nbgrader
`autograded/` folder or a student's own laptop loads the same file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_PACKAGE = Path(__file__).resolve().parents[1]  # the digiready package


def data_dir() -> Path:
    """The folder holding the CSV files: inside an installed wheel, else the source checkout."""
    bundled = _PACKAGE / "datasets"
    return bundled if bundled.is_dir() else _PACKAGE.parents[1] / "data"


def available() -> list[str]:
    """The names of the datasets that can be loaded."""
    return sorted(path.stem for path in data_dir().glob("*.csv"))


def load(name: str) -> pd.DataFrame:
    """One dataset as a DataFrame; blank text cells stay as empty strings, not NaN."""
    path = data_dir() / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no dataset called {name!r}; the datasets are: {', '.join(available())}"
        )
    return pd.read_csv(path, keep_default_na=False)
