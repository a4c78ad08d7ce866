"""Full-text, fuzzy and faceted search over every row of a workspace (docs/search.md)."""
