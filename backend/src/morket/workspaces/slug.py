"""URL slugs from workspace names."""

from __future__ import annotations

import re
import secrets
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
MAX_BASE = 60


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NON_ALNUM.sub("-", ascii_name.lower()).strip("-")[:MAX_BASE].strip("-")
    return slug or "workspace"


def with_suffix(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"
