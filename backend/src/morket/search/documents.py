"""What a row looks like to search: its prospect fields recognised, its other text, one `SearchDocument`.

Pure functions (no I/O): a column is recognised as a prospect field by its type (email, url), by
the field an enrichment column writes (`config.field`), or by its name ("Company name",
"Job title", "City", ...). The first column recognised for a field wins (display order); the
text of every other text-like cell goes to `other`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from morket.models import ColumnType, TableColumn

PROSPECT_FIELDS = ("name", "email", "company", "domain", "title", "location", "industry")

# Normalised column names (lower case, letters and digits only) per field.
_NAMES: dict[str, frozenset[str]] = {
    "name": frozenset({"name", "fullname", "personname", "contactname", "contact", "person", "prospect", "lead"}),
    "email": frozenset({"email", "emailaddress", "workemail", "businessemail", "mail", "personalemail"}),
    "company": frozenset(
        {"company", "companyname", "organization", "organisation", "account", "accountname", "employer", "org"}
    ),
    "domain": frozenset({"domain", "companydomain", "website", "companywebsite", "url", "site", "web"}),
    "title": frozenset({"title", "jobtitle", "position", "role", "headline", "jobrole"}),
    "location": frozenset({"location", "city", "country", "region", "state", "address", "hq", "headquarters"}),
    "industry": frozenset({"industry", "sector", "vertical", "companyindustry"}),
}
# Text-like values: what a search document holds. Numbers and dates are not text to search.
_TEXT_TYPES = frozenset(
    {
        ColumnType.TEXT,
        ColumnType.LONG_TEXT,
        ColumnType.URL,
        ColumnType.EMAIL,
        ColumnType.PHONE,
        ColumnType.SINGLE_SELECT,
        ColumnType.MULTI_SELECT,
        ColumnType.JSON,
    }
)
MAX_FIELD_CHARS = 2_000
MAX_OTHER_CHARS = 20_000
# ts_headline's markers: control characters removed from every stored text, so no cell can forge them.
MARK_START = "\x02"
MARK_END = "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _normal(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def field_of(column: TableColumn) -> str | None:
    """The prospect field a column holds, or None."""
    configured = (column.config or {}).get("field")
    if isinstance(configured, str) and configured in PROSPECT_FIELDS:
        return configured
    if column.type is ColumnType.EMAIL:
        return "email"
    normal = _normal(column.name)
    for name, names in _NAMES.items():
        if normal in names:
            return name
    # "First name" / "Last name" pieces are names too; "Company name" is caught above.
    if normal in {"firstname", "lastname", "givenname", "surname", "familyname"}:
        return "name"
    if column.type is ColumnType.URL and normal.endswith(("website", "domain", "url")):
        return "domain"
    return None


@dataclass(frozen=True)
class FieldPlan:
    """Per table: which column feeds which field; computed once per batch, not per row."""

    fields: dict[str, list[str]]  # field -> column ids (str), display order
    other: list[str]
    types: dict[str, ColumnType]

    @classmethod
    def of(cls, columns: Sequence[TableColumn]) -> FieldPlan:
        fields: dict[str, list[str]] = {}
        other: list[str] = []
        types: dict[str, ColumnType] = {}
        for column in columns:
            if column.type not in _TEXT_TYPES:
                continue
            key = str(column.id)
            types[key] = column.type
            found = field_of(column)
            if found is not None and (found == "name" or found not in fields):
                fields.setdefault(found, []).append(key)
            else:
                other.append(key)
        return cls(fields, other, types)


@dataclass
class SearchDocument:
    """One row as indexed: the one shape every backend stores and returns."""

    workspace_id: uuid.UUID
    table_id: uuid.UUID
    row_id: int
    version: int
    table_name: str
    row_created_at: datetime
    row_updated_at: datetime
    name: str | None = None
    email: str | None = None
    company: str | None = None
    domain: str | None = None
    title: str | None = None
    location: str | None = None
    industry: str | None = None
    other: str | None = None
    providers: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What a suggestion shows: the name, else the company, the email, or the row."""
        return self.name or self.company or self.email or self.domain or f"Row {self.row_id}"

    @property
    def email_terms(self) -> str | None:
        return email_terms(self.email)

    @property
    def domain_terms(self) -> str | None:
        return domain_terms(self.domain)


def clean_text(value: Any, limit: int = MAX_FIELD_CHARS) -> str | None:
    """A cell as searchable text: lists joined, control characters dropped, bounded length."""
    if value is None:
        return None
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value if v is not None)
    elif isinstance(value, dict):
        text = " ".join(str(v) for v in value.values() if isinstance(v, str | int | float))
    else:
        text = str(value)
    text = _CONTROL.sub(" ", text).strip()
    return text[:limit] or None


def email_terms(email: str | None) -> str | None:
    """The email and its parts, so "jane", "doe" and "stripe" find jane.doe@stripe.com."""
    if not email:
        return None
    local, _, host = email.lower().partition("@")
    parts = [email.lower(), *re.split(r"[._+\-]+", local)]
    if host:
        parts += [host, host.split(".")[0]]
    return " ".join(p for p in parts if p)


def domain_terms(domain: str | None) -> str | None:
    """A domain or URL as host and its first label: "https://www.stripe.com/x" -> "stripe.com stripe"."""
    if not domain:
        return None
    host = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", domain.lower()).split("/")[0].split("?")[0]
    host = host.removeprefix("www.")
    first = host.split(".")[0]
    return f"{host} {first}" if first and first != host else host or None


def build_document(
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    table_name: str,
    plan: FieldPlan,
    row_id: int,
    version: int,
    cells: Mapping[str, Any],
    meta: Mapping[str, Any],
    created_at: datetime,
    updated_at: datetime,
) -> SearchDocument:
    doc = SearchDocument(
        workspace_id=workspace_id,
        table_id=table_id,
        row_id=row_id,
        version=version,
        table_name=table_name,
        row_created_at=created_at,
        row_updated_at=updated_at,
    )
    for name, keys in plan.fields.items():
        parts = [text for key in keys if (text := clean_text(cells.get(key)))]
        if parts:
            setattr(doc, name, clean_text(" ".join(parts)))
    others = [text for key in plan.other if (text := clean_text(cells.get(key)))]
    if others:
        doc.other = clean_text(" \n ".join(others), MAX_OTHER_CHARS)
    doc.cells = {
        key: text
        for key in (*(k for keys in plan.fields.values() for k in keys), *plan.other)
        if (text := clean_text(cells.get(key), 500))
    }
    doc.providers = providers_of(meta)
    return doc


def providers_of(meta: Mapping[str, Any]) -> list[str]:
    """The providers that found any of the row's values (the `_meta` provenance of computed cells)."""
    found: set[str] = set()
    for state in meta.values():
        if isinstance(state, dict) and isinstance(provider := state.get("provider"), str) and provider:
            found.add(provider[:64])
    return sorted(found)


def tokens(text: str) -> Iterable[str]:
    """Words of a query as the index splits them (lower case, letters/digits and inner . @ - _)."""
    return re.findall(r"[\w][\w.@\-']*[\w]|[\w]", text.lower())
