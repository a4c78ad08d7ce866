"""Morket's scraper service: company sites, careers pages and public profiles, as an enrichment provider."""
