"""The Dockerfiles: what ends up in the images (no sandbox, no secrets, no root) and how they start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.infra import ROOT

DOCKERFILES = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))
PRODUCTION = [p for p in DOCKERFILES if p.name != "sandbox.Dockerfile"]


def final_stage(path: Path) -> str:
    return re.split(r"^FROM ", path.read_text(), flags=re.M)[-1]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned_to_versions(path: Path) -> None:
    images = re.findall(r"^FROM\s+(\S+)", path.read_text(), flags=re.M)
    assert images
    for image in images:
        tag = image.partition(":")[2]
        assert re.search(r"\d+\.\d+", tag), f"{path.name}: {image} is not pinned to a version"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_runs_as_non_root_with_a_healthcheck(path: Path) -> None:
    stage = final_stage(path)
    users = re.findall(r"^USER\s+(\S+)", stage, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"{path.name} runs as root"
    assert re.search(r"^HEALTHCHECK\s+--", stage, flags=re.M), f"{path.name} has no HEALTHCHECK"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_no_secret_is_baked_in(path: Path) -> None:
    for line in re.findall(r"^(?:ENV|ARG)\s+(.*)$", path.read_text(), flags=re.M):
        assert not re.search(r"(SECRET|PASSWORD|MASTER_KEY|API_KEY|TOKEN)\w*=", line), f"{path.name}: {line}"


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: p.name)
def test_production_images_leave_the_provider_sandbox_out(path: Path) -> None:
    text = path.read_text()
    install = text.find("&& uv sync --locked")
    if install < 0:
        return  # the web image holds only static files
    deletion = text.find("rm -rf backend/src/morket/sandbox")
    assert 0 <= deletion < install, f"{path.name} must delete the sandbox before installing"
    # The runtime stage copies from the build stage only, after the deletion.
    assert "COPY . ." not in final_stage(path)
    assert "sandbox" not in final_stage(path).replace("provider sandbox", "")


def test_api_image_serves_api_worker_and_migrations() -> None:
    stage = final_stage(ROOT / "deploy" / "docker" / "api.Dockerfile")
    assert 'ENTRYPOINT ["morket"]' in stage
    assert "/app/backend/migrations" in stage and "/app/web/dist" in stage
    assert 'CMD ["api", "--host", "0.0.0.0"]' in stage


def test_every_dockerfile_has_its_own_dockerignore() -> None:
    for path in DOCKERFILES:
        ignore = path.with_name(path.name + ".dockerignore")
        assert ignore.exists(), ignore.name
        assert "**/.venv" in ignore.read_text() and "**/*.env" in ignore.read_text()
