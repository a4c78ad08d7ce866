"""Careers pages: JSON-LD/microdata JobPosting items; else job-like links and headings."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from morket_scraper.extractors.base import Parsed, clean, same_site
from morket_scraper.fetch import Page
from morket_scraper.models import TargetType

_JOB_PATH = re.compile(r"/(jobs?|careers?|positions?|openings?|vacanc(y|ies))/[^/?#]+", re.I)
_JOB_CLASS = re.compile(r"\b(job|position|opening|vacancy|posting)[-_]?(title|name|item|listing|card)?\b", re.I)


class JobsExtractor:
    target_type: ClassVar[TargetType] = TargetType.JOBS

    def links_to_follow(self, page: Parsed) -> list[str]:
        return []

    def extract(self, pages: list[Parsed]) -> dict[str, tuple[Any, Page]]:
        main = pages[0]
        titles: list[str] = []
        for posting in main.items("JobPosting"):
            title = clean(posting.get("title") if isinstance(posting.get("title"), str) else posting.get("name"))
            if title:
                titles.append(title)
        if not titles:
            titles = self._fallback(main)
        if not titles:
            return {}
        return {"job_postings_count": (len(titles), main.page), "job_titles": (titles, main.page)}

    @staticmethod
    def _fallback(main: Parsed) -> list[str]:
        titles: list[str] = []
        # Elements marked up as job titles (class names), then links to individual postings.
        for node in main.tree.css("[class]"):
            classes = node.attributes.get("class") or ""
            if any(_JOB_CLASS.fullmatch(c) and ("title" in c or "name" in c) for c in classes.split()):
                title = clean(node.text())
                if title and len(title) <= 150 and title not in titles:
                    titles.append(title)
        if titles:
            return titles
        for href, text in main.links():
            if (
                same_site(href, main.page.final_url)
                and _JOB_PATH.search(urlsplit(href).path)
                and text
                and len(text) <= 150
                and text not in titles
            ):
                titles.append(text)
        return titles
