"""The API serves the built web app at / with an SPA fallback, and /api stays JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from morket.app import create_app
from tests.conftest import make_settings

INDEX = "<!doctype html><title>Morket</title><div id=root></div>"
BUNDLE = "console.log('app')"


@pytest.fixture
async def web(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text(BUNDLE)
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside dist")
    app = create_app(make_settings(database_url, web_dist_dir=str(dist)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


async def test_index_is_html_revalidated_with_a_csp_that_lets_the_app_run(web: httpx.AsyncClient) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "default-src 'none'" not in csp


async def test_client_routes_fall_back_to_index(web: httpx.AsyncClient) -> None:
    for path in ("/login", "/w/6f1d/billing", "/w/6f1d/tables/9?view=all"):
        response = await web.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX, path
        assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_immutable_other_files_revalidated(web: httpx.AsyncClient) -> None:
    asset = await web.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == BUNDLE
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = await web.get("/favicon.svg")
    assert icon.text == "<svg/>"
    assert icon.headers["cache-control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_index(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-old999.js")
    assert response.status_code == 404
    assert "Morket" not in response.text


async def test_api_paths_keep_their_json_errors(web: httpx.AsyncClient) -> None:
    missing = await web.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    body = missing.json()
    assert body["success"] is False and body["error"]["code"] == "not_found"
    assert missing.headers["content-security-policy"].startswith("default-src 'none'")
    wrong_method = await web.post("/api/v1/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["success"] is False
    health = await web.get("/api/v1/health")
    assert health.status_code == 200


async def test_no_path_escapes_dist(web: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        response = await web.get(path)
        assert "outside dist" not in response.text, path


async def test_without_a_build_nothing_is_mounted(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(database_url, web_dist_dir=str(tmp_path / "nothing")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/")
    await app.state.engine.dispose()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
