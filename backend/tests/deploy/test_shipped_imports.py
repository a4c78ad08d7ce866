"""The shipped `morket` package never imports the provider sandbox (`morket_sandbox`, sandbox/).

The sandbox is a development and test tool installed only by morket's `dev` extra, so a
production install does not have it: an import of it anywhere in morket would break there.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from tests.deploy.infra import ROOT

MORKET_SRC = ROOT / "backend" / "src" / "morket"
SANDBOX = "morket_sandbox"


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
    return names


def test_no_module_of_morket_imports_the_sandbox() -> None:
    """Every import statement, lazy ones inside functions included, and import_module("...")."""
    files = sorted(MORKET_SRC.rglob("*.py"))
    assert len(files) > 50
    offenders = [
        f"{file.relative_to(ROOT)}: {name}"
        for file in files
        for name in _imported_modules(ast.parse(file.read_text()))
        if name == SANDBOX or name.startswith(f"{SANDBOX}.") or name.startswith("morket.sandbox")
    ]
    assert offenders == []
    assert not (MORKET_SRC / "sandbox").exists(), "the sandbox moved to sandbox/src/morket_sandbox"


# Imports every module of morket (the API app, the worker and the CLI first), then reports what
# ended up in sys.modules. A fresh interpreter: this test process has the sandbox loaded already.
_PROBE = """
import importlib, json, pkgutil, sys
import morket, morket.app, morket.worker, morket.cli
failed = []
for module in pkgutil.walk_packages(morket.__path__, "morket."):
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed.append(f"{module.name}: {exc!r}")
print(json.dumps({"modules": sorted(sys.modules), "failed": failed}))
"""


def test_importing_all_of_morket_leaves_the_sandbox_unloaded() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT / "backend"
    )
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["failed"] == []
    modules: list[str] = report["modules"]
    assert "morket.app" in modules and "morket.worker" in modules and "morket.providers.gateway" in modules
    assert [m for m in modules if m == SANDBOX or m.startswith(f"{SANDBOX}.")] == []
    assert "faker" not in modules
