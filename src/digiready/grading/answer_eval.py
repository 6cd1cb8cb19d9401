"""Evaluate students' data answers afresh, and carry the results back as plain JSON.

`evaluate_all` runs in a child forked from a grading worker's kernel server, inside the
sandbox, that has run nothing of the student's: it loads the course's own datasets, checks each
expression against the grammar of `digiready.student.answer_reading` once more, evaluates it with no
builtins but `len`, `round`, `sum`, `min`, `max` and `abs`, and encodes each result as JSON.
`decode` rebuilds the value in the grading worker (types kept: a pandas Series stays a Series,
a numpy integer stays one), so the marking helpers see what the kernel would have seen. JSON,
never pickle: nothing the sandbox sends can run code in the worker.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from digiready.student.answer_reading import FUNCTIONS, expression_problem
from digiready.student.datasets import load

MAX_ITEMS = 10_000
SAFE_DTYPES = frozenset({"int64", "int32", "float64", "float32", "bool", "object"})


class Unreadable:
    """A result the grader could not carry back (an error, an unsupported or huge value)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"


def evaluate_all(expressions: Mapping[str, str], tables: Mapping[str, str]) -> dict[str, Any]:
    """Each expression's encoded value (or error); `tables` maps names to dataset names."""
    loaded = {name: load(dataset) for name, dataset in tables.items()}
    allowed = {name: getattr(builtins, name) for name in FUNCTIONS}
    results: dict[str, Any] = {}
    for key, source in expressions.items():
        try:
            tree = ast.parse(source, mode="eval")
            problem = expression_problem(tree.body, tables)
            if problem:
                raise ValueError(problem)
            frames = {name: frame.copy() for name, frame in loaded.items()}
            value = eval(compile(tree, "<answer>", "eval"), {"__builtins__": allowed}, frames)  # noqa: S307 (checked grammar)
            results[key] = encode(value)
        except Exception as error:  # the student's expression may fail in any way
            results[key] = {"t": "error", "v": f"{type(error).__name__}: {error}"[:300]}
    return results


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able description of `value` that `decode` turns back into the same type."""
    if depth > 3:
        return {"t": "unsupported", "v": "nested too deeply"}
    if value is None or type(value) in (bool, int, float, str):
        return {"t": "py", "v": value}
    if isinstance(value, np.generic) and value.dtype.name in SAFE_DTYPES - {"object"}:
        return {"t": "np", "dtype": value.dtype.name, "v": value.item()}
    if type(value) is pd.Series:
        if len(value) > MAX_ITEMS:
            return {"t": "unsupported", "v": "too many rows"}
        return {"t": "series", "dtype": str(value.dtype), "name": encode(value.name, depth + 1),
                "index_name": encode(value.index.name, depth + 1),
                "index": [encode(i, depth + 1) for i in value.index],
                "values": [encode(v, depth + 1) for v in value.tolist()]}
    if type(value) is pd.DataFrame:
        if value.size > MAX_ITEMS:
            return {"t": "unsupported", "v": "too many cells"}
        return {"t": "frame", "columns": [encode(c, depth + 1) for c in value.columns],
                "index": [encode(i, depth + 1) for i in value.index],
                "rows": [[encode(v, depth + 1) for v in row] for row in value.itertuples(
                    index=False, name=None)]}
    if type(value) in (list, tuple, set, frozenset):
        if len(value) > MAX_ITEMS:
            return {"t": "unsupported", "v": "too many items"}
        return {"t": type(value).__name__, "v": [encode(v, depth + 1) for v in value]}
    if type(value) is dict:
        if len(value) > MAX_ITEMS:
            return {"t": "unsupported", "v": "too many items"}
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)]
                                   for k, v in value.items()]}
    return {"t": "unsupported", "v": f"a {type(value).__name__}"}


def decode(data: Any) -> Any:
    """The value `encode` described; an `Unreadable` for errors and anything malformed."""
    try:
        return _decode(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Unreadable("the result could not be read")


def _decode(data: Any) -> Any:
    kind = data["t"]
    if kind == "py":
        value = data["v"]
        if value is None or type(value) in (bool, int, float, str):
            return value
        raise ValueError(kind)
    if kind == "np":
        if data["dtype"] not in SAFE_DTYPES:
            raise ValueError(data["dtype"])
        return np.dtype(data["dtype"]).type(data["v"])
    if kind == "series":
        dtype = data["dtype"] if data["dtype"] in SAFE_DTYPES else None
        index = pd.Index([_decode(i) for i in data["index"]], name=_decode(data["index_name"]))
        return pd.Series([_decode(v) for v in data["values"]], index=index,
                         name=_decode(data["name"]), dtype=dtype)
    if kind == "frame":
        return pd.DataFrame([[_decode(v) for v in row] for row in data["rows"]],
                            index=[_decode(i) for i in data["index"]],
                            columns=[_decode(c) for c in data["columns"]])
    if kind in ("list", "tuple", "set", "frozenset"):
        items = [_decode(v) for v in data["v"]]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
    if kind == "dict":
        return {_decode(k): _decode(v) for k, v in data["v"]}
    return Unreadable(str(data.get("v", kind)))
