"""Copy detection without shipping the sources' text."""

from __future__ import annotations

from pathlib import Path

import pytest

from digiready.authoring.fingerprint import (
    ALLOWED_PHRASES,
    FINGERPRINT_FILE,
    build_fingerprint,
    copied_runs,
    load_fingerprint,
    words,
)

SOURCES = Path(__file__).resolve().parents[2] / "shared" / "sources"
needs_sources = pytest.mark.skipif(
    not SOURCES.is_dir(), reason=f"{SOURCES} not present (CI has it)"
)


def test_copied_passage_is_found_and_merged() -> None:
    source = " ".join(f"w{i}" for i in range(30))
    fingerprint = frozenset(build_fingerprint([source]))
    text = "Intro words. " + " ".join(f"w{i}" for i in range(5, 20)) + " then mine."
    assert copied_runs(text, fingerprint) == [" ".join(f"w{i}" for i in range(5, 20))]
    assert copied_runs(" ".join(f"w{i}" for i in range(5, 16)), fingerprint) == []


def test_punctuation_case_and_curly_quotes_do_not_hide_copying() -> None:
    source = "Social workers don't always know, as one said, what the new systems will do for them"
    fingerprint = frozenset(build_fingerprint([source]))
    disguised = (
        "SOCIAL WORKERS DON\u2019T always know -- as one said -- what the new systems will do"
    )
    assert copied_runs(disguised, fingerprint)


def test_allowed_legal_lists_are_not_flagged() -> None:
    fingerprint = frozenset(build_fingerprint(ALLOWED_PHRASES))
    assert copied_runs(ALLOWED_PHRASES[0], fingerprint) == []


@needs_sources
def test_stored_fingerprint_matches_the_sources() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SOURCES.glob("*.txt"))]
    assert load_fingerprint() == frozenset(build_fingerprint(texts)), (
        f"regenerate with: digiready fingerprint {SOURCES}"
    )


@needs_sources
def test_a_real_sentence_from_the_statement_is_caught() -> None:
    statement = next(SOURCES.glob("003_*.txt")).read_text(encoding="utf-8")
    sentence = max(statement.split("."), key=lambda s: len(words(s)))
    assert copied_runs(sentence, load_fingerprint())


def test_fingerprint_file_ships_hashes_not_text() -> None:
    lines = FINGERPRINT_FILE.read_text(encoding="utf-8").split()
    assert len(lines) > 1000
    assert all(len(line) == 16 and int(line, 16) >= 0 for line in lines)
