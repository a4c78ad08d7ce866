# The two commands of the README, and a few helpers.
.PHONY: run test lint typecheck pytest bootstrap lock clean web web-check web-client

VENV := .venv/bin

run: bootstrap web
	$(VENV)/morket dev

test: bootstrap lint typecheck web-check pytest

bootstrap:
	@scripts/bootstrap.sh

lint:
	cd backend && ../$(VENV)/ruff check --config pyproject.toml src tests migrations ../bench \
		&& ../$(VENV)/ruff format --config pyproject.toml --check src tests migrations ../bench

typecheck:
	cd backend && ../$(VENV)/mypy

pytest: web
	cd backend && ../$(VENV)/pytest -q

lock:
	@BOOTSTRAP_UV_ONLY=1 scripts/bootstrap.sh
	.uv/bin/uv lock

clean:
	rm -rf .venv .uv .morket

# The web app: built when its sources changed (the API serves web/dist at /); checks include the
# drift check of the generated API client; `make web-client` regenerates it after an API change.
web: bootstrap
	@scripts/web.sh build

web-check: bootstrap
	@scripts/web.sh check

web-client: bootstrap
	@scripts/web.sh client
