"""Readers for the deployment files (Terraform, compose) and the settings classes they must feed."""

from __future__ import annotations

import ast
import glob
import importlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[3]
TERRAFORM = ROOT / "deploy" / "terraform"
COMPOSE_FILE = ROOT / "compose.yaml"
PACKAGE_LABEL = "app.morket.python-package"
# Development tools that never run in a deployment: the provider emulator (its own workspace
# member, sandbox/) and what `make run` starts.
NOT_DEPLOYED_MODULES = ("morket.devstack", "morket_sandbox")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted ("\\"x\\""); expressions stay as ${...}."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


@cache  # parsing is slow (~0.15 s a file); every test reads the same files
def load_hcl(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    return parsed


def terraform_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def terraform_dirs() -> list[Path]:
    return sorted({p.parent for p in terraform_files()})


@dataclass
class TfModuleDir:
    """The blocks of one Terraform directory, merged over its files, labels unquoted."""

    path: Path
    variables: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    locals: dict[str, Any]
    modules: dict[str, dict[str, Any]]
    resources: dict[str, dict[str, Any]]
    data: dict[str, dict[str, Any]]


def _labelled(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for label, body in block.items():
            merged[unquote(label)] = unquote(body)
    return merged


def _twice_labelled(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for kind, named in block.items():
            for name, body in named.items():
                merged[f"{unquote(kind)}.{unquote(name)}"] = unquote(body)
    return merged


@cache
def read_tf_dir(path: Path) -> TfModuleDir:
    variables: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    modules: list[dict[str, Any]] = []
    resources: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    local_values: dict[str, Any] = {}
    for file in sorted(path.glob("*.tf")):
        parsed = load_hcl(file)
        variables += parsed.get("variable", [])
        outputs += parsed.get("output", [])
        modules += parsed.get("module", [])
        resources += parsed.get("resource", [])
        data += parsed.get("data", [])
        for block in parsed.get("locals", []):
            local_values.update(unquote(block))
    return TfModuleDir(
        path=path,
        variables=_labelled(variables),
        outputs=_labelled(outputs),
        locals=local_values,
        modules=_labelled(modules),
        resources=_twice_labelled(resources),
        data=_twice_labelled(data),
    )


_LOCAL_REF = re.compile(r"^\$\{local\.(\w+)\}$")


def resolve_map(module_dir: TfModuleDir, value: Any) -> dict[str, Any]:
    """A literal map, or a map held by a local (`${local.name}`); anything else is not checkable."""
    if isinstance(value, str) and (match := _LOCAL_REF.match(value)):
        value = module_dir.locals.get(match.group(1))
    if not isinstance(value, dict):
        raise AssertionError(f"{module_dir.path}: expected a literal map or a local holding one, got {value!r}")
    return value


@dataclass
class Container:
    """A task definition that runs one of our Python packages."""

    where: str
    package: str
    variables: set[str]
    # Of `variables`: the plain environment values, and the secrets that may be absent (an ARN
    # looked up with a null default: modules/ecs_service leaves the variable unset then).
    environment: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)


_OPTIONAL = re.compile(r"^\$\{lookup\(.*,\s*null\)\}$")


@cache
def ecs_containers() -> list[Container]:
    """Every module call that passes python_package to ecs_service, with its environment and secrets."""
    found: list[Container] = []
    for directory in terraform_dirs():
        module_dir = read_tf_dir(directory)
        for name, call in module_dir.modules.items():
            if not str(call.get("source", "")).endswith("ecs_service") or not call.get("python_package"):
                continue
            environment = set(resolve_map(module_dir, call.get("environment", {})))
            secrets = resolve_map(module_dir, call.get("secrets", {}))
            optional = {k for k, v in secrets.items() if isinstance(v, str) and _OPTIONAL.match(v)}
            where = f"{directory.relative_to(ROOT)}: module.{name}"
            found.append(Container(where, call["python_package"], environment | set(secrets), environment, optional))
    return found


def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def compose_containers() -> list[Container]:
    found: list[Container] = []
    for name, service in compose()["services"].items():
        package = (service.get("labels") or {}).get(PACKAGE_LABEL)
        if package:
            environment = service.get("environment") or {}
            if isinstance(environment, list):
                environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
            found.append(Container(f"compose.yaml: services.{name}", package, set(environment)))
    return found


# --- settings classes of the workspace's packages ---


def _package_dirs() -> list[Path]:
    """src/<package> of every uv workspace member (members as written in the root pyproject)."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: list[str] = root["tool"]["uv"]["workspace"]["members"]
    dirs: list[Path] = []
    for pattern in members:
        for member in sorted(glob.glob(str(ROOT / pattern))):
            src = Path(member) / "src"
            dirs += [p for p in sorted(src.glob("*")) if (p / "__init__.py").exists()]
    return dirs


def _settings_class_names(source: str, known: set[str]) -> list[str]:
    tree = ast.parse(source)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = {
                b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases
            }
            if bases & ({"BaseSettings"} | known):
                names.append(node.name)
    return names


@dataclass
class SettingsClass:
    package: str
    qualname: str
    variables: set[str]
    required: set[str]  # of `variables`: the fields without a default (start-up fails without them)


def env_names(cls: type[BaseSettings], *, required_only: bool = False) -> set[str]:
    """The environment variables a pydantic-settings class reads (prefix, aliases, case); with
    `required_only`, those of fields without a default."""
    config = cls.model_config
    prefix = config.get("env_prefix", "") or ""
    names = set()
    for field_name, info in cls.model_fields.items():
        if required_only and not info.is_required():
            continue
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        name = alias or f"{prefix}{field_name}"
        names.add(name if config.get("case_sensitive") else name.upper())
    return names


def settings_classes() -> list[SettingsClass]:
    """Found by reading the sources (no list to keep up to date), then imported for their fields."""
    found: list[SettingsClass] = []
    for package_dir in _package_dirs():
        known: set[str] = set()
        for file in sorted(package_dir.rglob("*.py")):
            module = ".".join(file.relative_to(package_dir.parent).with_suffix("").parts).removesuffix(".__init__")
            if module.startswith(NOT_DEPLOYED_MODULES):
                continue
            names = _settings_class_names(file.read_text(), known)
            known.update(names)
            for name in names:
                cls = getattr(importlib.import_module(module), name)
                if isinstance(cls, type) and issubclass(cls, BaseSettings):
                    found.append(
                        SettingsClass(
                            package_dir.name, f"{module}.{name}", env_names(cls), env_names(cls, required_only=True)
                        )
                    )
    return found
