"""The built web app (web/dist) served at `/`, with an SPA fallback that never swallows /api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

# Vite puts content-hashed files under assets/: a new build gets new names, so they never change.
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html names the current hashes: the browser must check it on every navigation.
REVALIDATE = "no-cache"


def default_dist_dir() -> Path:
    """web/dist of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


class _SpaRoute(Route):
    # Unmatched /api paths keep their JSON 404 (and an unknown method on a known API path its
    # 405): the fallback does not even match them.
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("type") == "http" and str(scope.get("path", "")).startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def mount_web_ui(app: FastAPI, dist: Path) -> bool:
    """Serve `dist` at `/` if it holds a build; returns whether it was mounted. Add it last."""
    root = dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        return False

    async def serve(request: Request) -> Response:
        rel = str(request.path_params.get("path", ""))
        candidate = (root / rel).resolve()
        if rel and candidate.is_relative_to(root) and candidate.is_file():
            cache = IMMUTABLE if candidate.relative_to(root).parts[0] == "assets" else REVALIDATE
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if rel.startswith("assets/"):
            # A stale hashed name: index.html instead would fail later as a script of type text/html.
            raise HTTPException(status_code=404)
        headers: dict[str, Any] = {"Cache-Control": REVALIDATE}
        return FileResponse(index, media_type="text/html", headers=headers)

    app.router.routes.append(_SpaRoute("/{path:path}", serve, methods=["GET", "HEAD"], include_in_schema=False))
    return True
