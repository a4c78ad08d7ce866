"""Columns that compute (issue 10): kinds, runs, formulas, lookups, HTTP API columns."""

# `kinds` first: it registers the lookup and HTTP kinds, whose modules import it back.
from morket.columns import kinds as _kinds  # noqa: F401
