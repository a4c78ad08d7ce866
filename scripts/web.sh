#!/usr/bin/env bash
# The web app (web/): install, build, check, regenerate the API client. Node 20 + npm from the machine.
#   scripts/web.sh build    npm ci when the lock changed, vite build when the sources changed
#   scripts/web.sh check    tsc --noEmit, eslint, vitest, and the client drift check
#   scripts/web.sh client   regenerate web/openapi.json and web/src/lib/api/schema.d.ts from the API
set -euo pipefail
cd "$(dirname "$0")/../web"
VENV=../.venv/bin

need_node() {
  command -v npm >/dev/null || { echo "[web] Node 20 and npm are required (apt-get install nodejs npm)" >&2; exit 1; }
}

install() {
  need_node
  local stamp=node_modules/.morket-lock want
  want=$(sha256sum package-lock.json | cut -c1-16)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[web] npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
}

sources_hash() {
  (cat package-lock.json index.html vite.config.ts tsconfig.json; find src public -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16
}

build() {
  install
  local want
  want=$(sources_hash)
  if [ ! -f dist/.morket-build ] || [ "$(cat dist/.morket-build)" != "$want" ]; then
    echo "[web] vite build"
    npx vite build --logLevel warn
    echo "$want" > dist/.morket-build
  fi
}

generate() {  # $1: folder to write openapi.json and schema.d.ts into
  "$VENV/morket" openapi --out "$1/openapi.json"
  npx openapi-typescript "$1/openapi.json" -o "$1/schema.d.ts" --silent
}

client() {
  install
  generate src/lib/api
  mv src/lib/api/openapi.json openapi.json
  echo "[web] regenerated web/openapi.json and web/src/lib/api/schema.d.ts"
}

drift() {
  local tmp rc=0
  tmp=$(mktemp -d)
  generate "$tmp"
  if ! cmp -s "$tmp/openapi.json" openapi.json || ! cmp -s "$tmp/schema.d.ts" src/lib/api/schema.d.ts; then
    diff -u openapi.json "$tmp/openapi.json" | head -40 >&2 || true
    echo "[web] the API changed: the committed client is stale. Run 'make web-client' and commit." >&2
    rc=1
  else
    echo "[web] client matches the API"
  fi
  # No RETURN trap: it would outlive this function and fire, with $tmp unset, when its caller returns.
  rm -rf "$tmp"
  return "$rc"
}

check() {
  install
  npx tsc --noEmit -p tsconfig.json
  npx eslint --max-warnings=0 .
  npx vitest run
  drift
}

case "${1:-build}" in
  build) build ;;
  check) check ;;
  client) client ;;
  drift) install; drift ;;
  *) echo "usage: scripts/web.sh build|check|client|drift" >&2; exit 2 ;;
esac
