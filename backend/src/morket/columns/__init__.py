"""Columns that compute (issue 10): kinds of columns, their configuration, running them on rows."""
