"""The Dockerfiles: what ends up in the images (no sandbox, no secrets, no root) and how they start."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

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


def _installed_packages(lock: dict[str, Any], root: str) -> set[str]:
    """The packages `uv sync --no-dev --package <root>` installs: runtime dependencies, with the
    extras they name, followed through uv.lock (never the root's own optional `dev` extra)."""
    packages = {package["name"]: package for package in lock["package"]}
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while todo:
        name, extras = todo.pop()
        package = packages[name]
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        dependencies = list(package.get("dependencies", []))
        for extra in extras:
            dependencies += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(dep["name"], tuple(dep.get("extra", []))) for dep in dependencies]
    return {key.partition("[")[0] for key in seen}


def _uv_sync(path: Path) -> str | None:
    instructions = re.sub(r"^\s*#.*$", "", path.read_text(), flags=re.M)
    match = re.search(r"uv sync ([^\n&\\]*)", instructions)
    return match.group(1) if match else None


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: p.name)
def test_production_images_leave_the_provider_sandbox_out(path: Path) -> None:
    """The sandbox is its own workspace member (sandbox/); a production image neither has its
    sources in the build context nor installs it, and its final stage copies nothing of it."""
    options = _uv_sync(path)
    if options is None:
        return  # the web image holds only static files
    assert "--no-dev" in options and "--locked" in options, f"{path.name}: {options}"
    for everything in ("--all-packages", "--all-extras", "--extra", "--group", "--all-groups"):
        assert everything not in options, f"{path.name} installs more than one package's runtime: {everything}"
    package = re.search(r"--package (\S+)", options)
    assert package and package.group(1) != "morket-sandbox", f"{path.name}: {options}"
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    installed = _installed_packages(lock, package.group(1))
    assert package.group(1) in installed and len(installed) > 10  # the walk did follow the lock
    assert "morket-sandbox" not in installed, f"{path.name} installs the provider sandbox"
    assert "faker" not in installed, f"{path.name} installs the sandbox's fake data generator"
    ignored = path.with_name(path.name + ".dockerignore").read_text().splitlines()
    assert {"sandbox/src", "sandbox/tests"} <= set(ignored), f"{path.name}: the sandbox's sources are in the context"
    # The runtime stage copies from the build stage only, and nothing of the sandbox.
    assert "COPY . ." not in final_stage(path)
    assert "sandbox" not in final_stage(path).replace("provider sandbox", "")


def test_the_sandbox_image_runs_the_sandbox_package() -> None:
    path = ROOT / "deploy" / "docker" / "sandbox.Dockerfile"
    assert re.search(r"--package morket-sandbox\b", _uv_sync(path) or ""), "sandbox.Dockerfile"
    assert 'ENTRYPOINT ["morket-sandbox"]' in final_stage(path)
    scripts = tomllib.loads((ROOT / "sandbox" / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["morket-sandbox"] == "morket_sandbox.__main__:main"


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
