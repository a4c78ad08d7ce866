"""`python -m morket_sandbox [--host H] [--port P] [--config sandbox.json]`."""

from __future__ import annotations

import argparse

from morket_sandbox.config import DEFAULT_PORT
from morket_sandbox.server import load_config, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m morket_sandbox", description="Run the provider sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--config", help="JSON file with a SandboxConfig (api_keys, faults)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve(args.host, args.port, load_config(args.config) if args.config else None, args.log_level)


if __name__ == "__main__":
    main()
