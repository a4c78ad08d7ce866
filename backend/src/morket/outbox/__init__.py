"""The outbox: one ordered stream of changes for SSE, analytics, search and CRM export (docs/outbox.md)."""
