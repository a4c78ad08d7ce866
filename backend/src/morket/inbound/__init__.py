"""Inbound webhook tables: a table receives rows by POST to a secret URL (docs/inbound.md)."""
