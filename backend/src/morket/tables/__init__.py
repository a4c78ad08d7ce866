"""Tables: the spreadsheet data model (docs/tables.md)."""
