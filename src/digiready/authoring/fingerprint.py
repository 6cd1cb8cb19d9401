"""Detect text copied from the source documents without shipping their text.

The fingerprint is the set of hashes of every run of 12 consecutive words in the sources
(`source_fingerprint.txt`, packed with digiready). Course text is split the same way; any run
whose hash is in the set was copied. Runs that lie wholly inside a fixed legal list or a section
title of the Statement are allowed, so naming them is not flagged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

RUN_LENGTH = 12
FINGERPRINT_FILE = Path(__file__).resolve().parent / "source_fingerprint.txt"

ALLOWED_PHRASES = (
    # Equality Act 2010, s4: the protected characteristics.
    "age; disability; gender reassignment; marriage and civil partnership; pregnancy and "
    "maternity; race; religion or belief; sex; sexual orientation",
    # UK GDPR Article 5 principles.
    "lawfulness, fairness and transparency; purpose limitation; data minimisation; accuracy; "
    "storage limitation; integrity and confidentiality; accountability",
    # Care Act 2014 safeguarding principles.
    "empowerment, prevention, proportionality, protection, partnership and accountability",
)


def words(text: str) -> list[str]:
    """Lower-case words, with curly apostrophes made straight and punctuation dropped."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "'"))


def _hash(run: Iterable[str]) -> str:
    return hashlib.blake2b(" ".join(run).encode("utf-8"), digest_size=8).hexdigest()


def runs(text: str) -> Iterator[tuple[str, str]]:
    """Each 12-word run of `text` as (hash, the run's words)."""
    tokens = words(text)
    for start in range(len(tokens) - RUN_LENGTH + 1):
        run = tokens[start : start + RUN_LENGTH]
        yield _hash(run), " ".join(run)


def _allowed_hashes() -> set[str]:
    return {digest for phrase in ALLOWED_PHRASES for digest, _ in runs(phrase)}


def build_fingerprint(texts: Iterable[str]) -> set[str]:
    """The hashes of every 12-word run in `texts`, less the allowed phrases."""
    digests = {digest for text in texts for digest, _ in runs(text)}
    return digests - _allowed_hashes()


def write_fingerprint(sources: Path, out: Path = FINGERPRINT_FILE) -> int:
    """Fingerprint every .txt file in `sources` into `out`; return the number of hashes."""
    files = sorted(sources.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"{sources}: no source .txt files to fingerprint")
    digests = build_fingerprint(path.read_text(encoding="utf-8") for path in files)
    out.write_text("\n".join(sorted(digests)) + "\n", encoding="utf-8")
    return len(digests)


def load_fingerprint(path: Path = FINGERPRINT_FILE) -> frozenset[str]:
    """The stored fingerprint."""
    return frozenset(line for line in path.read_text(encoding="utf-8").split() if line)


def copied_runs(text: str, fingerprint: frozenset[str]) -> list[str]:
    """The 12-word runs of `text` found in the sources, merged into maximal passages."""
    tokens = words(text)
    copied = [False] * len(tokens)
    for start, (digest, _) in enumerate(runs(text)):
        if digest in fingerprint:
            for index in range(start, start + RUN_LENGTH):
                copied[index] = True
    passages: list[str] = []
    current: list[str] = []
    for token, is_copied in zip(tokens, copied, strict=True):
        if is_copied:
            current.append(token)
        elif current:
            passages.append(" ".join(current))
            current = []
    if current:
        passages.append(" ".join(current))
    return passages
