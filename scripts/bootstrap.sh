#!/usr/bin/env bash
# Installs what `make run` and `make test` need, once; later runs only check and return.
# Needs: Python 3.11+, apt (as root, for system packages that are missing), Node 20 (web UI).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
stamp=.venv/.morket-installed
UV_VERSION=0.13.9
# Everything the lock depends on: a change to any of these re-syncs the environment.
deps_hash=$( (echo "$UV_VERSION"; cat uv.lock pyproject.toml */pyproject.toml) | sha256sum | cut -c1-16)

apt_install() {
  # Only system packages that are missing, and only when we may install them.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "[bootstrap] please install: ${missing[*]}" >&2
    return 1
  fi
  echo "[bootstrap] apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  apt_install postgresql
fi
# The load generator of bench/api.py; the bench is optional, so its absence is not fatal.
command -v wrk >/dev/null || apt_install wrk || echo "[bootstrap] without wrk, bench/api.py cannot run" >&2

# The scraper's browser path: Debian's Chromium, driven by Playwright (never `playwright install`).
if [ ! -x "${SCRAPER_CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  apt_install chromium fonts-liberation
fi

# The browser the end-to-end tests drive (never a browser downloaded by playwright).
[ -x /usr/bin/chromium ] || apt_install chromium

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "[bootstrap] Python 3.11+ is required (found $("$PY" --version))" >&2
  exit 1
fi
# uv itself lives in its own small venv (.uv), pinned; `uv sync` manages .venv from uv.lock.
if [ ! -x .uv/bin/uv ] || [ "$(.uv/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$PY" -m venv .uv || { apt_install python3-venv && "$PY" -m venv .uv; }
  .uv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
[ -n "${BOOTSTRAP_UV_ONLY:-}" ] && exit 0
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$deps_hash" ]; then
  echo "[bootstrap] installing Python packages into .venv from uv.lock"
  UV_PYTHON="$PY" UV_PYTHON_DOWNLOADS=never .uv/bin/uv sync -q --locked --all-packages --all-extras
  echo "$deps_hash" > "$stamp"
fi

# Static checks of deploy/ (`make deploy-check`): Debian's docker-compose for `config` (the Docker
# client has no compose plugin here), shellcheck (also used by actionlint on workflow scripts), and
# checkov in its own environment from deploy/tools/uv.lock.
if [ -z "${BOOTSTRAP_SKIP_DEPLOY_TOOLS:-}" ]; then
  command -v docker-compose >/dev/null || apt_install docker-compose
  command -v shellcheck >/dev/null || apt_install shellcheck
  tools_stamp=.venv-checkov/.morket-installed
  tools_hash=$( (echo "$UV_VERSION"; cat deploy/tools/uv.lock deploy/tools/pyproject.toml) | sha256sum | cut -c1-16)
  if [ ! -f "$tools_stamp" ] || [ "$(cat "$tools_stamp")" != "$tools_hash" ]; then
    echo "[bootstrap] installing checkov into .venv-checkov from deploy/tools/uv.lock"
    UV_PROJECT_ENVIRONMENT="$PWD/.venv-checkov" UV_PYTHON="$PY" UV_PYTHON_DOWNLOADS=never \
      .uv/bin/uv sync -q --locked --project deploy/tools
    echo "$tools_hash" > "$tools_stamp"
  fi
fi
