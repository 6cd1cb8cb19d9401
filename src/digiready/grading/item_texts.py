"""What people read about each graded item, taken from the trusted master notebook in `course/`.

- `label`: "Question 4.1" from the grade id (`m09_q4_1_test`);
- `title`: the first words of the item's prompt, the markdown cell before its answer cell,
  after "**Question 4.1** (3 points) —";
- `rationale`: the explanation of the right answer, the comment lines an author writes at the
  top of the answer cell's solution block (between `### BEGIN SOLUTION` and the assignment).
  It is released only in feedback, never the hidden tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from digiready.course.items import nbgrader_meta
from digiready.grading.nbgrader_ext import question_label

TEST_SUFFIX = "_test"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
TITLE_WORDS = 10
_PROMPT_HEAD = re.compile(
    r"^(?:#+[^\n]*\n+)*\s*\*\*Question [\d.]+\*\*\s*(?:\([^)]*\))?\s*[—–-]?\s*", re.MULTILINE
)
_MARKUP = re.compile(r"[*`#>]+")


@dataclass(frozen=True)
class ItemText:
    """The words shown for one graded item (keyed by its test cell's grade id)."""

    grade_id: str
    label: str
    title: str
    rationale: str

    @property
    def heading(self) -> str:
        """"Question 4.1 — Rosa, 79, was born in Portugal …", or the label alone."""
        return f"{self.label} \u2014 {self.title}" if self.title else self.label


def short_title(prompt: str, words: int = TITLE_WORDS) -> str:
    """The first `words` words of a prompt, without its "**Question 1.1** (2 points) —" head
    or markdown marks."""
    body = _PROMPT_HEAD.sub("", prompt, count=1)
    plain = _MARKUP.sub("", body).split()
    return " ".join(plain[:words]) + (" …" if len(plain) > words else "")


def rationale(source: str) -> str:
    """The comment lines at the start of the solution block, without their '#'."""
    lines = source.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if BEGIN_SOLUTION in line)
    except StopIteration:
        return ""
    kept = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if END_SOLUTION in stripped or not stripped.startswith("#"):
            break
        kept.append(stripped.lstrip("#").strip())
    return " ".join(part for part in kept if part)


def item_texts(notebook: Any) -> dict[str, ItemText]:
    """Every graded item's texts, by grade id (the test cell's for an auto item, the cell's own
    for a manually graded one)."""
    cells = list(notebook.cells)
    by_id = {str(nbgrader_meta(cell).get("grade_id")): i for i, cell in enumerate(cells)}
    texts: dict[str, ItemText] = {}
    for cell in cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        grade_id = str(meta.get("grade_id", ""))
        answer_id = grade_id.removesuffix(TEST_SUFFIX)
        index = by_id.get(answer_id, by_id[grade_id])
        answer = cells[index]
        prompt = cells[index - 1] if index > 0 else None
        title = ""
        if prompt is not None and prompt.cell_type == "markdown":
            title = short_title(str(prompt.source))
        explanation = rationale(str(answer.source)) if answer.cell_type == "code" else ""
        texts[grade_id] = ItemText(grade_id, question_label(grade_id), title, explanation)
    return texts
