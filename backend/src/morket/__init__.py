"""Morket: a self-hostable GTM data engine."""

__version__ = "0.1.0"
