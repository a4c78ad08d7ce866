"""The provider sandbox: offline emulators of the third-party APIs behind Morket's providers."""

from morket_sandbox.app import create_sandbox_app
from morket_sandbox.config import (
    DEFAULT_PORT,
    HUNTER_TEST_API_KEY,
    SANDBOX_API_KEY,
    FaultConfig,
    FaultSettings,
    Provider,
    SandboxConfig,
    sandbox_base_url,
)
from morket_sandbox.server import SandboxServer, serve

__all__ = [
    "DEFAULT_PORT",
    "HUNTER_TEST_API_KEY",
    "SANDBOX_API_KEY",
    "FaultConfig",
    "FaultSettings",
    "Provider",
    "SandboxConfig",
    "SandboxServer",
    "create_sandbox_app",
    "sandbox_base_url",
    "serve",
]
