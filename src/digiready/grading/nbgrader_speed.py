"""nbgrader's autograde without the work it repeats for every student, in a grading worker.

Each change is configuration or a subclass, and none changes what is graded or how:
- `CachedCheckCellMetadata`: nbgrader's CheckCellMetadata builds a new metadata validator (and
  reads its schema file) for each notebook, and `jsonschema.validate` checks the schema itself
  again for every cell; here one validator, built once per process, checks each cell against
  the same schema. (Upstream: nbgrader could keep one validator.)
- `optimistic_validation`: nbconvert validates the whole notebook after each of the 12
  preprocessors; its own setting validates it once, after the last.
- `share_engines`: nbgrader's `Gradebook` builds a new SQLAlchemy engine each time it is made
  (eleven times for one student); in a worker every gradebook of a URL shares one engine, so its
  connection set-up and compiled statements are reused. nbgrader offers no setting for this, so
  the one name `nbgrader.api.create_engine` is replaced in the worker. (Upstream: `Gradebook`
  could take an engine, or cache one per URL.)
"""

from __future__ import annotations

import traceback
from functools import cache, cached_property
from typing import Any

import nbgrader.api
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from nbformat import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config import Config


class _SchemaOnce(BaseMetadataValidator):  # type: ignore[misc]
    """nbgrader's schema check of a cell (`jsonschema.validate`), with the validator made once
    instead of once per cell (and the schema, nbgrader's own file, not checked each time)."""

    @cached_property
    def checker(self) -> Any:
        return validator_for(self.schema)(self.schema)

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            super().validate_cell(cell)  # nbgrader's own error for an old or new version
            return
        error = best_match(self.checker.iter_errors(meta))
        if error is not None:
            raise error


class _OneSchemaValidator(MetadataValidator, _SchemaOnce):  # type: ignore[misc]
    """nbgrader's metadata validator, whose schema check (its base class's) is `_SchemaOnce`."""


@cache
def _validator() -> _OneSchemaValidator:
    return _OneSchemaValidator()


class CachedCheckCellMetadata(CheckCellMetadata):  # type: ignore[misc]
    """CheckCellMetadata with one validator per process."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        try:
            _validator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


def faster(steps: list[Any]) -> list[Any]:
    """An autograde pipeline with CachedCheckCellMetadata in place of CheckCellMetadata."""
    plain = (CheckCellMetadata, "nbgrader.preprocessors.CheckCellMetadata")
    return [CachedCheckCellMetadata if step in plain else step for step in steps]


def configure(config: Config) -> Config:
    """Autograde's configuration with the changes above (except `share_engines`)."""
    from nbgrader.converters import Autograde

    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        steps = config.Autograde[name] if name in config.Autograde else \
            Autograde.class_traits()[name].default()
        config.Autograde[name] = faster(list(steps))
    config.Exporter.optimistic_validation = True
    return config


_ENGINES: dict[tuple[str, str], Any] = {}
_CREATE_ENGINE = nbgrader.api.create_engine


def _shared_engine(url: Any, **options: Any) -> Any:
    key = (str(url), repr(sorted(options.items())))
    if key not in _ENGINES:
        _ENGINES[key] = _CREATE_ENGINE(url, **options)
    return _ENGINES[key]


def share_engines() -> None:
    """From now on, in this process, every nbgrader Gradebook of a URL uses the same engine
    (`Gradebook.close` disposes of its connections; the engine makes new ones when used)."""
    nbgrader.api.create_engine = _shared_engine
