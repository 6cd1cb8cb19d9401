"""Plain guidance in the student's kernel instead of Python tracebacks.

A notebook's setup cell calls `install()`, which

- turns the errors beginners make (a letter without quotes, `78%`, curly quotes pasted from a
  word processor, `and` between pandas conditions, a misspelt column or table, a missing comma,
  running a check before its answer cell) into one sentence of guidance naming the question,
  through IPython's custom exception hook (`set_custom_exc`, which on IPython 9 also receives the
  syntax errors found while a cell is parsed);
- records whether each cell's run raised (IPython's `post_run_cell` event, by execution count),
  so a check can say "your answer cell has an error" instead of checking a value left in memory
  by an earlier run (`last_run_failed`).

The error is still shown as an error output with its usual name (nbgrader scores a test cell with
an error 0), only its text is replaced; nothing is written to stderr. Anything not recognised is
shown exactly as IPython would. This is student runtime: it imports no grading code.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Mapping
from typing import Any

ANSWER_NAME = re.compile(r"\b(answer_\d+_\d+|self_audit|cpd_plan)\b")
WIDTH = 80  # nbgrader's Validate cuts lines longer than 87 characters
READY = "Ready: the tools for this notebook are loaded. Now run the cells below in order."
CURLY_QUOTES = "\u201c\u201d\u2018\u2019\u201e\u201f\u2032\u2033"
HANDLED: tuple[type[BaseException], ...] = (NameError, SyntaxError, KeyError, ValueError, TypeError)

_failed_runs: dict[int, bool] = {}


def question_label(name: str) -> str:
    """"Question 2.1" for `answer_2_1`; "Self-audit" and "CPD plan" for the module 00 answers."""
    if name == "self_audit":
        return "Self-audit"
    if name == "cpd_plan":
        return "CPD plan"
    match = re.fullmatch(r"answer_(\d+)_(\d+)", name)
    return f"Question {match[1]}.{match[2]}" if match else name


def plain_lines(message: str) -> list[str]:
    """`message` as lines short enough for JupyterLab and for nbgrader's Validate dialog."""
    return textwrap.wrap(message, WIDTH, break_long_words=False, break_on_hyphens=False) or [""]


def assigns(source: str, name: str) -> bool:
    """True when a line of `source` starts by assigning `name` (read as text: the cell may not
    be valid Python)."""
    pattern = rf"^[ \t]*{re.escape(name)}[ \t]*(?::[^=\n]*)?=(?!=)"
    return re.search(pattern, source, re.M) is not None


def _assigned_answer(source: str) -> str | None:
    """The answer variable a cell assigns, if any."""
    for match in re.finditer(rf"^[ \t]*{ANSWER_NAME.pattern}[ \t]*=(?!=)", source, re.M):
        return match[1]
    return None


def last_run_failed(name: str, history: list[str] | None = None) -> bool:
    """True when the most recent earlier cell that assigns `name` raised an error when it ran.

    `history` is IPython's `In` (the cell running now is its last entry); by default the
    current session's. Cells are matched by text, so a cell that is not valid Python counts.
    """
    history = _history() if history is None else history
    for count in range(len(history) - 2, 0, -1):
        if assigns(str(history[count]), name):
            return _failed_runs.get(count, False)
    return False


def latest_source(name: str) -> str:
    """The text of the most recent earlier cell that assigns `name` ("" if none)."""
    history = _history()
    for count in range(len(history) - 2, 0, -1):
        if assigns(history[count], name):
            return history[count]
    return ""


def _history() -> list[str]:
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = getattr(shell, "user_ns", {}).get("In") if shell is not None else None
    return [str(source) for source in history] if isinstance(history, list) else []


def answer_cell_error(name: str) -> str:
    """What the check says when the answer cell's last run failed."""
    return (
        f"{question_label(name)}: your answer cell has an error: fix it first (the message under "
        "it says how), run it again with Shift+Enter, then run this check again."
    )


def _record_run(result: Any) -> None:
    count = getattr(result, "execution_count", None)
    if isinstance(count, int):
        _failed_runs[count] = not bool(getattr(result, "success", True))


# --- guidance for each kind of error ---------------------------------------------------------


def guidance(error: BaseException, source: str, namespace: Mapping[str, Any]) -> str | None:
    """One sentence of guidance for `error`, raised by a cell with this `source`, or None when it
    is not a mistake we recognise."""
    answer = _assigned_answer(source)
    label = question_label(answer) if answer else "This cell"
    if isinstance(error, SyntaxError):
        return _syntax_guidance(error, source, label)
    if isinstance(error, NameError):
        return _name_guidance(error, source, namespace, answer, label)
    if isinstance(error, KeyError):
        return _column_guidance(error, source, namespace, label)
    text = str(error)
    if isinstance(error, ValueError) and "truth value of a" in text and "ambiguous" in text:
        return (
            f"{label}: between two conditions write & (for 'and') or | (for 'or') instead of "
            'the words, with each condition in round brackets, like (t["a"] == "x") & '
            '(t["b"] == "y").'
        )
    if isinstance(error, TypeError) and re.search(r"[&|]", source) and (
        "rand_" in text or "ror_" in text or "for &" in text or "for |" in text
    ):
        return (
            f"{label}: is each condition in its own round brackets? Write "
            '(t["a"] == "x") & (t["b"] == "y"), not t["a"] == "x" & t["b"] == "y".'
        )
    return None


def _syntax_guidance(error: SyntaxError, source: str, label: str) -> str:
    line = (error.text or "").strip()
    message = str(error.msg or "")
    if any(quote in source for quote in CURLY_QUOTES):
        return (
            f"{label}: your answer has curly quotes (\u201c \u201d or \u2018 \u2019), perhaps "
            'pasted from a word processor: delete them and type straight quotes (") with the '
            "keyboard."
        )
    if re.search(r"\d\s*%", line):
        return f"{label}: write a plain number without the % sign, like 78.1."
    if "forgot a comma" in message or re.search(r"([\"'])[^\"'\n]*\1\s+[\"']", line):
        return f'{label}: is a comma missing? Put a comma between the items, like ["c", "d"].'
    if "unterminated string" in message or "EOL while scanning" in message:
        return (
            f'{label}: is a closing quote missing? Each piece of text needs a quote at both ends, '
            'like "b".'
        )
    if "never closed" in message or "unmatched" in message or "does not match" in message:
        return (
            f"{label}: is a bracket missing or extra? Each opening ( [ {{ needs its closing ) ] }}."
        )
    if isinstance(error, IndentationError):
        return f"{label}: does a line start with spaces? Delete the spaces at its start."
    shown = f" `{line}`" if line and len(line) <= 60 else ""
    return (
        f"{label}: Python cannot read line {error.lineno or 1}{shown}. Is your answer in the "
        "form the question shows: words and letters in quotes, numbers without quotes or %, "
        "brackets as in the example?"
    )


def _tables(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The pandas tables in the notebook, by name (pandas is imported only if already in use)."""
    import sys

    pandas = sys.modules.get("pandas")
    if pandas is None:
        return {}
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and isinstance(value, pandas.DataFrame)
    }


def _name_guidance(
    error: NameError,
    source: str,
    namespace: Mapping[str, Any],
    answer: str | None,
    label: str,
) -> str:
    name = str(getattr(error, "name", "") or "")
    if not name:
        match = re.search(r"name '([^']+)'", str(error))
        name = match[1] if match else ""
    if ANSWER_NAME.fullmatch(name):
        if last_run_failed(name):
            return answer_cell_error(name)
        return (
            f"{question_label(name)}: there is no answer yet. Run your answer cell first (click "
            "it and press Shift+Enter), then run this check again."
        )
    tables = sorted(_tables(namespace))
    close = difflib.get_close_matches(name, tables, n=1, cutoff=0.75)
    if close:
        return (
            f"{label}: is '{name}' spelt right? The tables in this notebook are called "
            f"{', '.join(tables)}: did you mean {close[0]}?"
        )
    if answer and re.fullmatch(r"[A-Za-z]{1,12}", name):
        example = name.lower() if len(name) == 1 else name
        return f'{label}: did you put your answer in quotes, like "{example}"?'
    return (
        f"{label}: Python does not know the name '{name}'. Is it spelt as in the notebook, and "
        "have you run the cells above this one, from the setup cell down?"
    )


def _column_guidance(
    error: KeyError, source: str, namespace: Mapping[str, Any], label: str
) -> str | None:
    key = error.args[0] if error.args else None
    if not isinstance(key, str):
        return None
    for name, table in _tables(namespace).items():
        if re.search(rf"\b{re.escape(name)}\b", source) and key not in table.columns:
            columns = [str(column) for column in table.columns]
            close = difflib.get_close_matches(key, columns, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            return (
                f'{label}: {name} has no column "{key}".{hint} Its columns are: '
                f"{', '.join(columns)}."
            )
    return None


# --- IPython hooks ---------------------------------------------------------------------------


def _handler(shell: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> None:
    """IPython custom exception handler: guidance when we recognise the mistake, otherwise
    IPython's usual display. It never raises (IPython would unregister it, writing to stderr)."""
    try:
        history = shell.user_ns.get("In")
        source = str(history[-1]) if isinstance(history, list) and history else ""
        text = guidance(value, source, shell.user_ns)
    except Exception:
        text = None
    if text is not None:
        shell._showtraceback(etype, value, plain_lines(text))
    elif isinstance(value, SyntaxError):
        shell.showsyntaxerror()
    else:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install(detail: str = "") -> None:
    """Install the guidance and the record of runs in this IPython kernel and print one line
    saying the tools are ready (`detail` adds a sentence). Safe to run more than once."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None:
        shell.set_custom_exc(HANDLED, _handler)
        callbacks = shell.events.callbacks.get("post_run_cell", [])
        if _record_run not in callbacks:
            shell.events.register("post_run_cell", _record_run)
    print(READY + (f" {detail}" if detail else ""))
