"""How a computed column writes its cells (shared by every kind that runs on rows)."""

from __future__ import annotations

import enum


class WritePolicy(enum.StrEnum):
    FILL_EMPTY = "fill_empty"  # only write cells that are empty (a user's value is never replaced)
    OVERWRITE = "overwrite"
