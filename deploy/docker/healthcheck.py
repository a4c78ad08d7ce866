"""Container health checks with the standard library only (the slim images have no curl).

python healthcheck.py api        GET http://127.0.0.1:$PORT/api/v1/health answers 200
python healthcheck.py scraper    GET http://127.0.0.1:$SCRAPER_PORT/health answers 200
python healthcheck.py temporal   TEMPORAL_ADDRESS accepts a TCP connection (the worker has no port)
"""

import os
import socket
import sys
import urllib.request


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - fixed local URL
            return bool(response.status == 200)
    except OSError:
        return False


def _tcp_ok(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=4):
            return True
    except (OSError, ValueError):
        return False


def main(kind: str) -> bool:
    if kind == "api":
        return _http_ok(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/api/v1/health")
    if kind == "scraper":
        return _http_ok(f"http://127.0.0.1:{os.environ.get('SCRAPER_PORT', '8001')}/health")
    if kind == "temporal":
        return _tcp_ok(os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    print(f"unknown check {kind!r}", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1] if len(sys.argv) > 1 else "api") else 1)
