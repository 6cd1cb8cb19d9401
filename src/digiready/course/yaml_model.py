"""Load a YAML file into a pydantic model, naming the file in every error."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[Model], error: type[ValueError], what: str) -> Model:
    """Read `path` and validate it as `model`; raise `error` that names the file on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as problem:
        raise error(f"{path}: cannot read {what}: {problem}") from problem
    try:
        return model.model_validate(raw)
    except ValidationError as problem:
        raise error(f"{path}: {problem}") from problem
