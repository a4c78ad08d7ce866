"""One module per emulated provider: its gate profile, response builders and routes."""
