"""Browser identities whose parts agree with each other: the user agent's platform, the viewport
of a screen that platform has, and a locale with a time zone where that language is spoken."""

from __future__ import annotations

import random
from dataclasses import dataclass

_PLATFORMS = {
    "windows": ("Windows NT 10.0; Win64; x64", [(1920, 1080), (1536, 864), (1366, 768)]),
    "mac": ("Macintosh; Intel Mac OS X 10_15_7", [(1440, 900), (1680, 1050), (1920, 1080)]),
    "linux": ("X11; Linux x86_64", [(1920, 1080), (1600, 900)]),
}
_REGIONS = [
    ("en-US", "America/New_York"),
    ("en-US", "America/Chicago"),
    ("en-US", "America/Los_Angeles"),
    ("en-GB", "Europe/London"),
    ("de-DE", "Europe/Berlin"),
    ("fr-FR", "Europe/Paris"),
    ("es-ES", "Europe/Madrid"),
]

# Hides what automation exposes to page scripts (navigator.webdriver, empty plugin lists).
WEBDRIVER_MASK = """
Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => undefined });
Object.defineProperty(navigator, 'plugins', { get: () => [1, 2, 3] });
window.chrome = window.chrome || { runtime: {} };
"""


@dataclass(frozen=True)
class Fingerprint:
    user_agent: str
    viewport: tuple[int, int]
    locale: str
    timezone: str

    @property
    def accept_language(self) -> str:
        language = self.locale.split("-", 1)[0]
        return f"{self.locale},{language};q=0.9" if language != "en" else f"{self.locale},en;q=0.9"


def random_fingerprint(chrome_version: str, rng: random.Random | None = None) -> Fingerprint:
    rng = rng or random.Random()
    token, screens = rng.choice(list(_PLATFORMS.values()))
    major = chrome_version.split(".", 1)[0] or "120"
    # Chrome reports a frozen minor version in its user agent (user-agent reduction).
    user_agent = f"Mozilla/5.0 ({token}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
    width, height = rng.choice(screens)
    locale, timezone = rng.choice(_REGIONS)
    return Fingerprint(user_agent, (width, height), locale, timezone)
