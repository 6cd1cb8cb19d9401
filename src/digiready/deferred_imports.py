"""Keep a slow, rarely used import out of every digiready process's start-up.

jsonschema (imported by nbformat, so by nbgrader, the CLI's grading commands, each grading
worker and each kernel server) imports `rfc3987_syntax` when it is installed, to check the "iri"
format, and that module builds a Lark parser as it is imported (1.1 to 2.5 s on the reference
machine). digiready never validates an IRI, so `defer` puts a stand-in in its place that imports
the real module the first time anything uses it: the checks are unchanged, only later.
(The fix belongs upstream: rfc3987-syntax could build its parser on first use.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

DEFERRED = "rfc3987_syntax"


def _real() -> types.ModuleType:
    """The real module, imported now in place of the stand-in."""
    if isinstance(sys.modules.get(DEFERRED), _StandIn):
        del sys.modules[DEFERRED]
    return importlib.import_module(DEFERRED)


def is_valid_syntax(term: str, value: str) -> bool:
    """rfc3987_syntax's check (what jsonschema imports from it), on the real module."""
    return bool(_real().is_valid_syntax(term, value))


class _StandIn(types.ModuleType):
    """Answers jsonschema's `from rfc3987_syntax import is_valid_syntax`; any other public name
    is looked up on the real module (Python's own probes, `__file__` and the like, are not)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real(), name)


def defer() -> None:
    """Put the stand-in in place, unless the module is not installed or already imported."""
    if DEFERRED in sys.modules or importlib.util.find_spec(DEFERRED) is None:
        return
    stand_in = _StandIn(DEFERRED, "stand-in: the real module is imported on first use")
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[DEFERRED] = stand_in
