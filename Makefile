# The two commands of the README, and a few helpers.
.PHONY: run test lint typecheck pytest bootstrap lock clean

VENV := .venv/bin

run: bootstrap
	$(VENV)/morket dev

test: bootstrap lint typecheck pytest

bootstrap:
	@scripts/bootstrap.sh

lint:
	cd backend && ../$(VENV)/ruff check --config pyproject.toml src tests migrations ../bench \
		&& ../$(VENV)/ruff format --config pyproject.toml --check src tests migrations ../bench
	cd scraper && ../$(VENV)/ruff check src tests && ../$(VENV)/ruff format --check src tests

typecheck:
	cd backend && ../$(VENV)/mypy
	cd scraper && ../$(VENV)/mypy

pytest:
	cd backend && ../$(VENV)/pytest -q
	cd scraper && ../$(VENV)/pytest -q

lock:
	@BOOTSTRAP_UV_ONLY=1 scripts/bootstrap.sh
	.uv/bin/uv lock

clean:
	rm -rf .venv .uv .morket
