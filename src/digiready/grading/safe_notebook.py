"""Make a graded notebook safe to show in a lecturer's or a student's browser.

Everything in a submission that the student could edit, and every output (the kernel that made
them ran the student's code), is untrusted. formgrader and nbgrader's feedback render notebooks
with nbconvert, which passes HTML in markdown and `text/html` or JavaScript outputs straight
into the page, where it runs with the lecturer's Jupyter session. `sanitise_notebook`:

- escapes HTML in every markdown cell a student could edit (locked cells are restored from the
  module's source by nbgrader before grading), so `<img onerror=...>` shows as text, and breaks
  `javascript:`, `vbscript:` and `data:` link targets;
- keeps only text/plain, image/png and image/jpeg (valid base64) in display outputs, plus
  streams and errors, rebuilt from scratch so no other field or metadata survives; anything
  else (HTML, markdown, SVG, JavaScript, widget views, other types) is replaced by a short note;
- keeps only png and jpeg attachments of markdown cells, drops raw cells' output format and the
  notebook's saved widget state.

What it removed that looked like an attempt to run code is recorded in the notebook's metadata
(`sanitised_notes` reads it), so grading can flag the submission for review.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat.v4 import new_output

from digiready.grading.notes import record, recorded
from digiready.student.scenario_view import ENHANCE_JS

# Outputs the course itself makes (exactly): still dropped, but no sign of a student's attempt.
OWN_SCRIPTS = frozenset({ENHANCE_JS.strip()})

NOTES_KEY = "sanitised"
SAFE_DATA = ("text/plain", "image/png", "image/jpeg")
SAFE_ATTACHMENTS = ("image/png", "image/jpeg")
STREAMS = ("stdout", "stderr")
NOTE = "[not shown here: {kinds} output]"
_TAG = re.compile(r"<\s*[A-Za-z!/?]")
_SCRIPTY = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|link|meta|base|form)\b"
    r"|javascript\s*:|vbscript\s*:|\bon[a-z]+\s*=",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"(javascript|vbscript|data)(?=[\s\\]*:)", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_SIZE_KEYS = ("width", "height")


def _text(value: Any) -> str:
    """A notebook string field, which JSON may hold as a list of lines."""
    return "".join(str(part) for part in value) if isinstance(value, list) else str(value)


def escape_markdown(source: str) -> str:
    """Markdown that shows `source`'s HTML as text: `&` and `<` become entities (so no tag and
    no entity-encoded link can form) and script-running URL schemes get a zero-width space."""
    text = source.replace("&", "&amp;").replace("<", "&lt;")
    return _SCHEME.sub(lambda match: match[1] + "\u200b", text)


def looks_like_html(text: str) -> bool:
    """True when `text` has something shaped like an HTML tag (`a < b` is not)."""
    return _TAG.search(text) is not None


def looks_like_script(text: str) -> bool:
    """True when `text` has a script-capable tag, an event handler or a script URL."""
    return _SCRIPTY.search(text) is not None


def cell_label(cell: Any, index: int) -> str:
    """The cell's nbgrader grade id, else its position ("cell 7")."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return str(grade_id) if grade_id else f"cell {index + 1}"


def is_restored_from_source(cell: Any) -> bool:
    """A locked cell nbgrader overwrote with the module's source (so not the student's text).

    nbgrader deletes grade ids the gradebook does not know, so a cell that kept its grade id
    and is locked is one of the module's own (nbgrader.utils.is_locked's rule)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    if not isinstance(meta, dict) or not meta.get("grade_id") or meta.get("solution"):
        return False
    return bool(meta.get("grade") or meta.get("locked"))


def _image_metadata(metadata: Any, mime: str) -> dict[str, Any]:
    """Only numeric width and height of a kept image."""
    kept: dict[str, Any] = {}
    source = metadata.get(mime, {}) if isinstance(metadata, dict) else {}
    if isinstance(source, dict):
        for key in _SIZE_KEYS:
            value = source.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                kept[key] = value
    return {mime: kept} if kept else {}


def _safe_data(output: Any, found: list[str]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """(kept data, kept metadata, dropped mime types) of a display or result output;
    a dropped type that could run script is added to `found`."""
    data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
    kept: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    dropped: list[str] = []
    for mime, value in data.items():
        text = _text(value) if isinstance(value, str | list) else ""
        if mime in SAFE_DATA and isinstance(value, str | list):
            if mime == "text/plain" or _BASE64.fullmatch(text):
                kept[mime] = text
                metadata.update(_image_metadata(output.get("metadata"), mime))
                continue
            found.append(f"{mime} output that is not an image")
        elif text.strip() in OWN_SCRIPTS:
            pass  # the course's own widget script: dropped like any script, not a reason to review
        elif "javascript" in mime or looks_like_script(text):
            found.append(f"script in a {mime} output")
        dropped.append(str(mime))
    return kept, metadata, dropped


def safe_output(output: Any, found: list[str]) -> Any:
    """The output rebuilt with only safe fields and types (a note where something was dropped)."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in STREAMS else "stdout"
        return new_output("stream", name=name, text=_text(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback", [])
        return new_output(
            "error",
            ename=_text(output.get("ename", "")),
            evalue=_text(output.get("evalue", "")),
            traceback=[_text(line) for line in traceback] if isinstance(traceback, list) else [],
        )
    if kind not in ("display_data", "execute_result"):
        found.append(f"an output of type {kind!r}")
        return new_output("stream", name="stdout", text=NOTE.format(kinds=str(kind)) + "\n")
    data, metadata, dropped = _safe_data(output, found)
    if not data:
        data = {"text/plain": NOTE.format(kinds=", ".join(dropped) or "empty")}
    if kind == "display_data":
        return new_output("display_data", data=data, metadata=metadata)
    count = output.get("execution_count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    return new_output("execute_result", data=data, metadata=metadata, execution_count=count)


def safe_outputs(cell: Any, label: str, notes: list[str]) -> None:
    """Replace a code cell's outputs (and execution count) by their safe versions."""
    found: list[str] = []
    cell.outputs = [safe_output(output, found) for output in cell.get("outputs", [])]
    count = cell.get("execution_count")
    cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
    notes.extend(f"{label}: {what} removed" for what in dict.fromkeys(found))


def _safe_attachments(cell: Any, label: str, notes: list[str]) -> None:
    attachments = cell.get("attachments")
    if not isinstance(attachments, dict):
        cell.pop("attachments", None)
        return
    kept: dict[str, Any] = {}
    for name, bundle in attachments.items():
        bundle = bundle if isinstance(bundle, dict) else {}
        images = {mime: _text(value) for mime, value in bundle.items()
                  if mime in SAFE_ATTACHMENTS and _BASE64.fullmatch(_text(value))}
        if images:
            kept[str(name)] = images
        if set(bundle) - set(images):
            notes.append(f"{label}: attachment {name!r} of another type than PNG or JPEG removed")
    cell.attachments = kept
    if not kept:
        del cell["attachments"]


def _escape_text_cell(cell: Any, label: str, notes: list[str]) -> None:
    """Escape a student-editable markdown cell; a raw cell loses any format that renders it."""
    source = _text(cell.get("source", ""))
    if cell.cell_type == "markdown":
        if looks_like_html(source) or looks_like_script(source):
            notes.append(f"{label}: HTML shown as text")
        cell.source = escape_markdown(source)
    else:
        for key in ("format", "raw_mimetype"):
            cell.metadata.pop(key, None)


def sanitise_notebook(nb: Any, escape: bool = True) -> list[str]:
    """Make `nb` safe to render (see the module docstring), in place; returns what a reviewer
    should know (script-like content found). `escape=False` leaves markdown sources as they are
    (for a notebook whose markdown this function already escaped)."""
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        label = cell_label(cell, index)
        if cell.cell_type == "code":
            safe_outputs(cell, label, notes)
            continue
        if cell.cell_type in ("markdown", "raw"):
            _safe_attachments(cell, label, notes)
            if escape and not is_restored_from_source(cell):
                _escape_text_cell(cell, label, notes)
    nb.metadata.pop("widgets", None)
    return list(dict.fromkeys(notes))


def record_notes(nb: Any, notes: list[str]) -> None:
    """Store what sanitising found in the notebook's metadata (replacing anything there)."""
    record(nb, NOTES_KEY, notes)


def already_sanitised(nb: Any) -> bool:
    """True for a notebook `record_notes` marked (grading always replaces a student's mark)."""
    return recorded(nb, NOTES_KEY) is not None


def sanitised_notes(autograded: Any) -> list[str]:
    """What grading removed from a student's notebook (the autograded notebook, read) that
    looked like an attempt to run code in formgrader or feedback: reasons to flag it."""
    notes = recorded(autograded, NOTES_KEY) or []
    if not notes:
        return []
    shown = ", ".join(notes[:5])
    more = f" and {len(notes) - 5} more" if len(notes) > 5 else ""
    return [f"HTML or script in the notebook (shown as text or removed): {shown}{more}"]
