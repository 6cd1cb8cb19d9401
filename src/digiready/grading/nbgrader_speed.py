"""nbgrader's autograde without the work it repeats for every student, in a grading worker.

Each change is configuration or a subclass, and none changes what is graded or how:
- `CachedCheckCellMetadata`: nbgrader's CheckCellMetadata builds a new metadata validator (and
  reads its schema file) for each notebook, and `jsonschema.validate` checks the schema itself
  again for every cell; here one validator, built once per process, checks each cell against
  the same schema, compiled by fastjsonschema (jsonschema only words the error of a cell it
  rejects). (Upstream: nbgrader could keep one compiled validator.)
- `optimistic_validation`: nbconvert validates the whole notebook after each of the 12
  preprocessors; its own setting validates it once, after the last.
- `share_engines`: nbgrader's `Gradebook` builds a new SQLAlchemy engine each time it is made
  (eleven times for one student); in a worker every gradebook of a URL shares one engine, so its
  connection set-up and compiled statements are reused. nbgrader offers no setting for this, so
  the one name `nbgrader.api.create_engine` is replaced in the worker. (Upstream: `Gradebook`
  could take an engine, or cache one per URL.) Each `Gradebook` also lists the tables and runs
  `create_all` (some twenty statements), then looks the course up and commits: in a worker that
  is done once per engine, since the tables and the course row exist from the first. (Upstream:
  check the schema and the course once per engine.)
- `fast_output_checks`: nbformat checks each output the kernel sends against its schema with
  jsonschema (nbformat's fast validator only checks whole notebooks); in a worker a compiled
  fastjsonschema check of the same schema comes first, and only an output it rejects goes to
  nbformat's own check (and its error). (Upstream: nbformat could compile these too.)
- `CachedOverwriteCells`: OverwriteCells looks up each nbgrader cell of the module in the
  gradebook for every submission (two queries a cell); here each is read once per worker. A
  worker lives for one run, after the module's cells were stored, and they cannot change
  during it.
- `OneCommitSaveAutoGrades`: SaveAutoGrades commits after each grade and each comment (twenty
  commits for module 09, each expiring what the session had loaded); here it commits once per
  notebook. Autoflush keeps every lookup up to date in between.
- `InMemoryAutograde`: Autograde's two passes (sanitise, then run and grade) hand the notebook
  over in memory, instead of the first writing it to autograded/ and the second reading and
  validating it back; only the graded notebook is written.
"""

from __future__ import annotations

import datetime
import os
import traceback
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fastjsonschema
import nbformat
import nbformat.v4.nbbase
import nbgrader.api
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from nbconvert.exporters import Exporter
from nbformat import NotebookNode
from nbformat.validator import get_validator
from nbgrader import utils as nbgrader_utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, OverwriteCells, SaveAutoGrades
from traitlets.config import Config


def _passes(compiled_schema: Callable[[Any], Any], value: Any) -> bool:
    """Whether a schema compiled by fastjsonschema accepts `value` (where it does not, the
    slower validator is asked, for its error message)."""
    try:
        compiled_schema(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


class _SchemaOnce(BaseMetadataValidator):  # type: ignore[misc]
    """nbgrader's schema check of a cell (`jsonschema.validate`), with the schema compiled once
    (fastjsonschema) instead of a validator made for each cell; a cell it rejects gets
    jsonschema's own error (and the schema, nbgrader's own file, is not checked each time)."""

    @cached_property
    def checker(self) -> Any:
        return validator_for(self.schema)(self.schema)

    @cached_property
    def compiled(self) -> Callable[[Any], Any]:
        return fastjsonschema.compile(self.schema)

    def validate_cell(self, cell: NotebookNode) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            super().validate_cell(cell)  # nbgrader's own error for an old or new version
            return
        if _passes(self.compiled, meta):
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


class _SourceCells:
    """A gradebook whose module cells (`find_source_cell`, `find_graded_cell`) are read once per
    process, as snapshots of the fields OverwriteCells reads; everything else is the gradebook's."""

    _read: dict[tuple[str, ...], SimpleNamespace | None] = {}

    def __init__(self, gradebook: Any) -> None:
        self._gradebook = gradebook

    def _once(self, kind: str, fields: tuple[str, ...], *key: str) -> SimpleNamespace:
        cache_key = (str(self._gradebook.engine.url), kind, *key)
        if cache_key not in self._read:
            try:
                found = getattr(self._gradebook, kind)(*key)
            except MissingEntry:
                self._read[cache_key] = None
            else:
                self._read[cache_key] = SimpleNamespace(
                    **{field: getattr(found, field) for field in fields})
        snapshot = self._read[cache_key]
        if snapshot is None:
            raise MissingEntry()
        return snapshot

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SimpleNamespace:
        return self._once("find_source_cell", ("name", "cell_type", "locked", "checksum",
                                               "source"), name, notebook, assignment)

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> SimpleNamespace:
        return self._once("find_graded_cell", ("name", "max_score"), name, notebook, assignment)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gradebook, name)


class CachedOverwriteCells(OverwriteCells):  # type: ignore[misc]
    """OverwriteCells reading each of the module's cells from the gradebook once per worker."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        gradebook: Any = getattr(self, "gradebook")  # noqa: B009 (nbgrader's, set by preprocess)
        if not isinstance(gradebook, _SourceCells):
            self.gradebook = _SourceCells(gradebook)
        return super().preprocess_cell(cell, resources, index)


class _CommitLater:
    """A session whose `commit` only flushes (the changes go to the database, uncommitted)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class _OneCommitGradebook:
    """A gradebook whose session's commits wait for the caller's one commit."""

    def __init__(self, gradebook: Any) -> None:
        self._gradebook = gradebook
        self.db = _CommitLater(gradebook.db)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gradebook, name)


class OneCommitSaveAutoGrades(SaveAutoGrades):  # type: ignore[misc]
    """SaveAutoGrades committing once per notebook instead of after each grade and comment."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        ids = resources["nbgrader"]
        self.notebook_id, self.assignment_id = ids["notebook"], ids["assignment"]
        self.student_id, self.db_url = ids["student"], ids["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = _OneCommitGradebook(gradebook)
            nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
            gradebook.db.commit()
        return nb, resources


_FASTER = {
    CheckCellMetadata: CachedCheckCellMetadata,
    OverwriteCells: CachedOverwriteCells,
    SaveAutoGrades: OneCommitSaveAutoGrades,
}


def faster(steps: list[Any]) -> list[Any]:
    """An autograde pipeline with the steps above in place of nbgrader's own (named by class or
    by their dotted name)."""
    swaps: dict[Any, Any] = {**_FASTER, **{
        f"nbgrader.preprocessors.{plain.__name__}": fast for plain, fast in _FASTER.items()}}
    return [swaps.get(step, step) for step in steps]


class InMemoryAutograde(Autograde):  # type: ignore[misc]
    """nbgrader's Autograde with the sanitised notebook passed to the autograde pass in memory.
    Each pass gets the resources nbgrader gives it (the second runs in autograded/, where the
    module's other files were copied); NBGRADER_EXECUTION is set while the second runs."""

    def _resources(self, filename: str, modified: str) -> Any:
        """What nbgrader and nbconvert's `from_filename` put in a pass's resources."""
        resources = self.init_single_notebook_resources(filename)
        when = datetime.datetime.fromtimestamp(os.path.getmtime(modified), tz=datetime.UTC)
        resources["metadata"] = {"name": Path(filename).stem, "path": str(Path(filename).parent),
                                 "modified_date": when.strftime("%B %-d, %Y")}
        return resources

    def convert_single_notebook(self, notebook_filename: str) -> None:
        self._sanitizing = True
        self._init_preprocessors()
        resources = self._resources(notebook_filename, notebook_filename)
        ids = resources["nbgrader"]
        sanitised, _ = Exporter.from_notebook_node(  # the notebook itself, not its JSON
            self.exporter, nbformat.read(notebook_filename, as_version=4), resources)
        graded = os.path.join(self._format_dest(ids["assignment"], ids["student"]),
                              os.path.basename(notebook_filename))
        os.makedirs(os.path.dirname(graded), exist_ok=True)  # the kernel runs there
        self._sanitizing = False
        self._init_preprocessors()
        try:
            with nbgrader_utils.setenv(NBGRADER_EXECUTION="autograde"):
                output, resources = self.exporter.from_notebook_node(
                    sanitised, self._resources(graded, notebook_filename))
                self.write_single_notebook(output, resources)
        finally:
            self._sanitizing = True


def configure(config: Config) -> Config:
    """Autograde's configuration with the changes above (except `share_engines`)."""
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


_CHECKED: set[int] = set()  # engines whose tables exist (by id: engines live for the process)
_CREATE_ALL = nbgrader.api.Base.metadata.create_all
_INSPECT = nbgrader.api.inspect


def _create_all_once(bind: Any = None, **options: Any) -> None:
    if id(bind) not in _CHECKED:
        _CREATE_ALL(bind=bind, **options)
        _CHECKED.add(id(bind))


class _HasTables:
    """What `Gradebook` asks an inspector, for an engine whose tables were already made."""

    def get_table_names(self) -> list[str]:
        return [table.name for table in nbgrader.api.Base.metadata.sorted_tables]


def _inspect_once(subject: Any) -> Any:
    return _HasTables() if id(subject) in _CHECKED else _INSPECT(subject)


_COURSES: set[tuple[int, str]] = set()  # (engine, course id) pairs whose course row exists
_CHECK_COURSE = Gradebook.check_course


def _check_course_once(gradebook: Any, course_id: str = "default_course", **kwargs: Any) -> Any:
    """`Gradebook.check_course` the first time per engine and course; then nothing (only
    `Gradebook.__init__` calls it, and it ignores what it returns)."""
    key = (id(gradebook.engine), course_id)
    if key in _COURSES:
        return None
    course = _CHECK_COURSE(gradebook, course_id, **kwargs)
    _COURSES.add(key)
    return course


def share_engines() -> None:
    """From now on, in this process, every nbgrader Gradebook of a URL uses the same engine
    (`Gradebook.close` disposes of its connections; the engine makes new ones when used), and
    the gradebook's tables and course are checked (and made if missing) once per engine."""
    nbgrader.api.create_engine = _shared_engine
    nbgrader.api.Base.metadata.create_all = _create_all_once
    nbgrader.api.inspect = _inspect_once
    Gradebook.check_course = _check_course_once


_CHECK_NODE: Callable[[Any, str | None], None] = nbformat.v4.nbbase.validate


@cache
def _compiled_check(ref: str) -> Callable[[Any], Any]:
    """nbformat's schema for one kind of node (`ref`), compiled by fastjsonschema."""
    schema = get_validator(version=4, version_minor=nbformat.v4.nbbase.nbformat_minor)._schema
    return fastjsonschema.compile({"$schema": schema["$schema"], "$ref": f"#/definitions/{ref}",
                                   "definitions": schema["definitions"]})


def _check_node(node: Any, ref: str | None = None) -> None:
    """nbformat's check of a new node, answered by the compiled schema when it passes."""
    if ref is None or not _passes(_compiled_check(ref), node):
        _CHECK_NODE(node, ref)


def fast_output_checks() -> None:
    """From now on, in this process, each new output (nbformat's `new_output`, which nbclient
    calls for every message a kernel sends) is checked by the compiled schema first."""
    nbformat.v4.nbbase.validate = _check_node
