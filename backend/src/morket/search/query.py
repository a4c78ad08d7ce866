"""The query language, parsed once for every backend: words, "quoted phrases", `word*` prefixes.

Pure code. Typo tolerance follows the usual "AUTO" rule (OpenSearch's too): words of 1-2
letters must match exactly, 3-5 letters may be one edit away, 6 or more two edits. Every word
also matches as a prefix when it is the last one (search as you type); exact matches rank above
prefix and fuzzy ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from morket.search.documents import MARK_END, MARK_START

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_][\w@.\-']*[^\W_]|[^\W_]", re.UNICODE)
MAX_TERMS = 8


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool  # written as `word*`: prefix only, no fuzzy

    @property
    def edits(self) -> int:
        """How many typos a word of this length tolerates (0, 1 or 2)."""
        if self.prefix or len(self.text) < 3:
            return 0
        return 1 if len(self.text) < 6 else 2


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.terms and not self.phrases


def words(text: str) -> list[str]:
    return [w.strip(".-'@") or w for w in _WORD.findall(text.lower().replace(MARK_START, " ").replace(MARK_END, " "))]


def parse(q: str) -> ParsedQuery:
    phrases: list[tuple[str, ...]] = []
    for found in _PHRASE.findall(q):
        phrase = tuple(words(found))
        if phrase:
            phrases.append(phrase)
    rest = _PHRASE.sub(" ", q).replace('"', " ")
    terms: list[Term] = []
    seen: set[str] = set()
    for raw in rest.split():
        prefix = raw.endswith("*")
        for word in words(raw):
            if word not in seen:
                seen.add(word)
                terms.append(Term(word, prefix))
    return ParsedQuery(tuple(terms[:MAX_TERMS]), tuple(phrases[:MAX_TERMS]))


def deletions(word: str, edits: int) -> set[str]:
    """The word and every string made by deleting up to `edits` of its letters (the typo lookup's keys).

    The vocabulary stores each term's keys with one deletion (migration 0120); two strings within
    one edit always share a key, two within two edits usually do (docs/search.md, "Typos").
    """
    keys = {word}
    frontier = {word}
    for _ in range(edits):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        keys |= frontier
    return keys


def lexeme(word: str) -> str:
    """A word quoted for tsquery text: inside single quotes, quotes and backslashes doubled."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_text(parsed: ParsedQuery, variants: dict[str, list[str]], *, exact_only: bool = False) -> str:
    """The tsquery (for `to_tsquery('simple', ...)`): AND of each word's alternatives and each phrase.

    A word's alternatives: itself, itself as a prefix, and its fuzzy `variants` (from the
    workspace's vocabulary). `exact_only` gives the words alone, OR-ed: the ranking bonus for
    documents that contain what was typed.
    """
    if exact_only:
        return " | ".join(lexeme(t.text) for t in parsed.terms) or ""
    parts: list[str] = []
    last = len(parsed.terms) - 1
    for i, term in enumerate(parsed.terms):
        if term.prefix:
            parts.append(f"{lexeme(term.text)}:*")
            continue
        # Search as you type: the last word may be unfinished, so it matches as a prefix too; the
        # words before it are finished (OpenSearch's `match_bool_prefix` rule). A prefix of every
        # word made GIN gather every posting of every common word ("engineer:*": 125,000 rows
        # at 1M) before the AND could narrow them.
        unfinished = [f"{lexeme(term.text)}:*"] if i == last else []
        options = [lexeme(term.text), *unfinished, *(lexeme(v) for v in variants.get(term.text, []))]
        parts.append("(" + " | ".join(options) + ")")
    for phrase in parsed.phrases:
        parts.append("(" + " <-> ".join(lexeme(w) for w in phrase) + ")")
    return " & ".join(parts)
