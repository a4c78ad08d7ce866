"""Duplicate rows: normalization of key values, grouping, and the merge rule. Pure, no I/O.

Two rows are duplicates when every exact key matches after normalization and, when a fuzzy
column is chosen, their normalized values of it score at least the threshold (rapidfuzz
token_sort_ratio, 0-100) — directly or through a chain of such rows. Rows with a blank key never
match. The merge keeps the oldest row (the smallest id) and fills each of its blank cells from the
other rows of the group, oldest first.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import tldextract
from rapidfuzz import fuzz, process

from morket.models import ColumnType

# Without an exact key, fuzzy names are compared only with names sharing these first characters:
# matching is quadratic within a block.
FUZZY_PREFIX = 3
_SPACE = re.compile(r"\s+")


class Normalization(enum.StrEnum):
    AUTO = "auto"
    EXACT = "exact"
    TEXT = "text"
    EMAIL = "email"
    DOMAIN = "domain"
    PHONE = "phone"


@lru_cache(maxsize=1)
def suffix_extractor() -> tldextract.TLDExtract:
    # The suffix list snapshot bundled with tldextract; no network and no cache directory at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


def normalize_text(value: str) -> str:
    text = unicodedata.normalize("NFKC", value)
    return _SPACE.sub(" ", text).strip().casefold()


def normalize_email(value: str) -> str:
    return "".join(value.split()).lower()


def normalize_domain(value: str) -> str:
    """The registrable domain of a URL, a host or an email address ('https://www.acme.co.uk/x' -> 'acme.co.uk')."""
    text = "".join(value.split()).lower()
    if "@" in text and "/" not in text.split("@", 1)[0]:
        text = text.rsplit("@", 1)[1]
    # Leading/trailing dots and slashes carry no identity ("acme.com." is the FQDN of "acme.com").
    text = text.strip("./")
    parts = suffix_extractor()(text)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    # An IP address, a local host name or a bare word: keep what there is.
    return (parts.domain or text).strip("./")


def normalize_phone(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def normalization_for(column_type: ColumnType, requested: Normalization) -> Normalization:
    if requested is not Normalization.AUTO:
        return requested
    if column_type is ColumnType.EMAIL:
        return Normalization.EMAIL
    if column_type is ColumnType.URL:
        return Normalization.DOMAIN
    if column_type is ColumnType.PHONE:
        return Normalization.PHONE
    if column_type in (ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT, ColumnType.CHECKBOX):
        return Normalization.EXACT
    return Normalization.TEXT


def normalize(value: Any, how: Normalization) -> str:
    """A key value as it is compared; '' means blank (never a match)."""
    text = _as_text(value)
    if how is Normalization.EMAIL:
        return normalize_email(text)
    if how is Normalization.DOMAIN:
        return normalize_domain(text) if text.strip() else ""
    if how is Normalization.PHONE:
        return normalize_phone(text)
    if how is Normalization.EXACT:
        return text.strip()
    return normalize_text(text)


@dataclass(frozen=True)
class KeyRule:
    """One key column, with how its values are normalized (never AUTO here: resolve it first)."""

    index: int
    how: Normalization


@dataclass(frozen=True)
class FuzzyRule:
    index: int
    threshold: float  # 0-100


@dataclass(frozen=True)
class Candidate:
    id: int
    values: Sequence[Any]  # aligned with the columns the rules index


def group_duplicates(
    rows: Iterable[Candidate], keys: Sequence[KeyRule], fuzzy: FuzzyRule | None = None
) -> list[list[int]]:
    """Groups of duplicate row ids (each sorted, at least two), ordered by their oldest row."""
    if not keys and fuzzy is None:
        raise ValueError("choose at least one key column or a fuzzy column")
    blocks: dict[Hashable, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        key = tuple(normalize(row.values[rule.index], rule.how) for rule in keys)
        if any(part == "" for part in key):
            continue
        name = ""
        if fuzzy is not None:
            name = normalize_text(_as_text(row.values[fuzzy.index]))
            if not name:
                continue
            if not keys:
                # Without an exact key, names are compared within the same first letters only.
                key = (name[:FUZZY_PREFIX],)
        blocks[key].append((row.id, name))
    groups: list[list[int]] = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        if fuzzy is None:
            groups.append(sorted(row_id for row_id, _ in members))
        else:
            groups.extend(_fuzzy_clusters(members, fuzzy.threshold))
    groups.sort(key=lambda g: g[0])
    return groups


def _fuzzy_clusters(members: list[tuple[int, str]], threshold: float) -> list[list[int]]:
    members = sorted(members)
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    names = [name for _, name in members]
    for i in range(len(names) - 1):
        # extract() compares in C++; only the later names: the score is symmetric.
        for _, _, j in process.extract(
            names[i], names[i + 1 :], scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
        ):
            a, b = find(i), find(i + 1 + int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, (row_id, _) in enumerate(members):
        clusters[find(i)].append(row_id)
    return [sorted(ids) for ids in clusters.values() if len(ids) >= 2]
