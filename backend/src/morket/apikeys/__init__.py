"""Workspace API keys: secrets for programs that act with a role and scopes (docs/api-keys.md)."""
