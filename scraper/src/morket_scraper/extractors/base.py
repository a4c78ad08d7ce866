"""What every extractor shares: parsing a page once (selectolax tree + extruct metadata)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol
from urllib.parse import urljoin, urlsplit

import extruct
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from morket_scraper.fetch import Page
from morket_scraper.models import TargetType

log = logging.getLogger("morket_scraper.extractors")

_SPACE = re.compile(r"\s+")


def clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    value = _SPACE.sub(" ", text).strip()
    return value or None


def types_of(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type") or item.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if k}


@dataclass
class Parsed:
    """A fetched page, parsed lazily: the DOM for selectors, extruct for structured data."""

    page: Page
    _meta: dict[str, Any] | None = field(default=None, repr=False)

    @cached_property
    def tree(self) -> HTMLParser:
        return HTMLParser(self.page.html)

    @property
    def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            html = self.page.html
            # Only the syntaxes the page has: extruct's microdata pass is its slowest.
            syntaxes = [
                name
                for name, marker in (("json-ld", "ld+json"), ("microdata", "itemscope"), ("opengraph", "og:"))
                if marker in html
            ]
            if not syntaxes:
                self._meta = {}
                return self._meta
            try:
                self._meta = extruct.extract(
                    html,
                    base_url=self.page.final_url,
                    syntaxes=syntaxes,
                    uniform=True,
                    errors="ignore",
                )
            except Exception as exc:  # noqa: BLE001 - broken markup must not fail the task
                log.info("structured data unreadable on %s: %s", self.page.final_url, exc)
                self._meta = {}
        return self._meta

    def items(self, *kinds: str) -> list[dict[str, Any]]:
        """JSON-LD and microdata items of any of these schema.org types (including @graph members)."""
        wanted = set(kinds)
        found: list[dict[str, Any]] = []

        def visit(item: Any) -> None:
            if isinstance(item, list):
                for sub in item:
                    visit(sub)
            elif isinstance(item, dict):
                if types_of(item) & wanted:
                    found.append(item)
                for sub in item.get("@graph", []) if isinstance(item.get("@graph"), list) else []:
                    visit(sub)

        for syntax in ("json-ld", "microdata"):
            visit(self.metadata.get(syntax) or [])
        return found

    def opengraph(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in self.metadata.get("opengraph") or []:
            if isinstance(item, dict):
                merged.update({k: v for k, v in item.items() if isinstance(v, str)})
        return merged

    def meta(self, name: str) -> str | None:
        node = self.tree.css_first(f'meta[name="{name}"]') or self.tree.css_first(f'meta[property="{name}"]')
        return clean(node.attributes.get("content")) if node is not None else None

    def title(self) -> str | None:
        node = self.tree.css_first("title")
        return clean(node.text()) if node is not None else None

    @cached_property
    def visible_text(self) -> str:
        """The body's text without scripts and styles (a second parse: `tree` keeps its scripts)."""
        tree = HTMLParser(self.page.html)
        tree.strip_tags(["script", "style", "noscript", "template"])
        return tree.body.text(separator=" ") if tree.body is not None else ""

    def text(self) -> str:
        return self.visible_text

    @cached_property
    def _links(self) -> list[tuple[str, str]]:
        out = []
        for node in self.tree.css("a[href]"):
            href = node.attributes.get("href") or ""
            out.append((urljoin(self.page.final_url, href.strip()), clean(node.text()) or ""))
        return out

    def links(self) -> list[tuple[str, str]]:
        """(absolute href, link text) of every anchor."""
        return self._links


def same_site(url: str, other: str) -> bool:
    a, b = urlsplit(url).hostname or "", urlsplit(other).hostname or ""
    return a.removeprefix("www.") == b.removeprefix("www.")


class Extractor(Protocol):
    target_type: ClassVar[TargetType]

    def links_to_follow(self, page: Parsed) -> list[str]:
        """Further pages of the same site worth fetching (contact, about); at most a few."""

    def extract(self, pages: list[Parsed]) -> dict[str, tuple[Any, Page]]:
        """Canonical field -> (value, the page it came from). Empty when the page holds no data."""
