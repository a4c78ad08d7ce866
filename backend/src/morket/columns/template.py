"""`{{Column}}` templates: the one parser and renderer of column references written in text.

AI prompts (`columns/ai.py`) and HTTP requests (`columns/http.py`: URL, headers, JSON body) name
columns as `{{Column name}}`; both read them here, so they agree on what a reference is:

- a reference is `{{` ... `}}`, the shortest match (so `{{A}}{{B}}` is two), the name inside
  stripped of surrounding spaces; names are matched to columns without regard to case (column
  names are unique that way in a table, `tables/service.py`);
- a `{{` with no `}}` after it is an error at its offset (`unclosed`);
- a renderer replaces each reference with the text a callback gives (`substitute`), or says
  the text is exactly one reference (`whole`: an HTTP body keeps the cell's JSON type then);
- a rename rewrites the references a callback maps to a new name (`rename`), leaving every
  other byte of the text as written.

Formulas use `{Column}` inside an expression language (`columns/formula.py`, a real parser): a
reference there is a token of that grammar, not text, so it is not parsed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from morket.models import TableColumn

OPEN, CLOSE = "{{", "}}"
_REF = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Ref:
    """One `{{name}}` in a text: the name (stripped) and where the reference starts and ends."""

    name: str
    start: int
    end: int


def refs(text: str) -> list[Ref]:
    return [Ref(m[1].strip(), m.start(), m.end()) for m in _REF.finditer(text)]


def names(text: str) -> list[str]:
    """The names referenced in `text`, in order (repeats kept)."""
    return [r.name for r in refs(text)]


def split(text: str) -> Iterator[str | Ref]:
    """`text` as its literal pieces and its references, in order (empty pieces left out)."""
    cursor = 0
    for ref in refs(text):
        if ref.start > cursor:
            yield text[cursor : ref.start]
        yield ref
        cursor = ref.end
    if cursor < len(text):
        yield text[cursor:]


def unclosed(text: str) -> int | None:
    """The offset of a `{{` that no `}}` closes, or None."""
    found = refs(text)
    tail = found[-1].end if found else 0
    offset = text.find(OPEN, tail)
    return None if offset < 0 else offset


def whole(text: str) -> str | None:
    """The name when `text` is exactly one reference (`"{{Seats}}"`), else None."""
    found = refs(text)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(text):
        return found[0].name
    return None


def substitute(text: str, value: Callable[[str], str]) -> str:
    """`text` with each reference replaced by `value(name)`."""
    return "".join(piece if isinstance(piece, str) else value(piece.name) for piece in split(text))


def rename(text: str, new_name: Callable[[str], str | None]) -> str:
    """`text` with each reference whose `new_name(name)` is not None written as `{{new name}}`;
    everything else (other references, spacing inside them, literal text) kept as written."""
    out: list[str] = []
    for piece in split(text):
        if isinstance(piece, str):
            out.append(piece)
            continue
        renamed = new_name(piece.name)
        out.append(text[piece.start : piece.end] if renamed is None else f"{OPEN}{renamed}{CLOSE}")
    return "".join(out)


def reference(name: str) -> str:
    return f"{OPEN}{name}{CLOSE}"


class Columns:
    """A table's columns found by the name a reference gives (case does not matter)."""

    def __init__(self, columns: Sequence[TableColumn]) -> None:
        self._by_name = {c.name.casefold(): c for c in columns}

    def get(self, name: str) -> TableColumn | None:
        return self._by_name.get(name.casefold())


def position(text: str, offset: int) -> dict[str, int]:
    """Line, column (1-based) and offset of `offset` in `text`, for error details."""
    line = text.count("\n", 0, offset) + 1
    return {"line": line, "column": offset - (text.rfind("\n", 0, offset) + 1) + 1, "offset": offset}
