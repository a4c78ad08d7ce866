"""The OpenAPI document and Swagger UI, served from this installation (no CDN) with ETags.

Swagger UI's script, styles and favicon come from the fastapi-offline package's static folder,
so the docs page works on a self-hosted machine without internet. The OpenAPI JSON is rendered
once per process, on its first request (every router is included by then).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from morket.core.caching import StaticAnswer

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/v1/docs"
ASSETS_URL = "/api/v1/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
# Changes only with a deploy, but then at once: clients revalidate every time and get 304s.
REVALIDATE = "no-cache"


def install_api_docs(app: FastAPI) -> None:
    """Routes for the OpenAPI JSON and the docs page; create the app with openapi_url=docs_url=None."""

    @cache
    def openapi_answer() -> StaticAnswer:
        import json

        return StaticAnswer.of(json.dumps(app.openapi(), separators=(",", ":")).encode())

    @cache
    def docs_answer() -> StaticAnswer:
        page = get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
        return StaticAnswer.of(bytes(page.body), media_type="text/html")

    async def openapi(request: Request) -> Response:
        return openapi_answer().respond(request, REVALIDATE)

    async def docs(request: Request) -> Response:
        return docs_answer().respond(request, REVALIDATE)

    app.add_api_route(OPENAPI_URL, openapi, methods=["GET"], include_in_schema=False)
    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
