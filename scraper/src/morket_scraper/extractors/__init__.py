"""Pluggable extractors, one module each: a page (and the links it may follow) in, canonical fields out.

An extractor is an object with `target_type`, `links_to_follow(page)` and `extract(pages)`;
`EXTRACTORS` maps each target type to its extractor. Adding one: a module and a line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from morket_scraper.extractors.base import Extractor
from morket_scraper.extractors.company import CompanyExtractor
from morket_scraper.extractors.jobs import JobsExtractor
from morket_scraper.extractors.person import PersonExtractor
from morket_scraper.models import TargetType

EXTRACTORS: Mapping[TargetType, Extractor] = MappingProxyType(
    {e.target_type: e for e in (CompanyExtractor(), JobsExtractor(), PersonExtractor())}
)

__all__ = ["EXTRACTORS", "Extractor"]
