# The two commands of the README, and a few helpers.
.PHONY: run test lint typecheck pytest bootstrap clean

VENV := .venv/bin

run: bootstrap
	$(VENV)/morket dev

test: bootstrap lint typecheck pytest

bootstrap:
	@scripts/bootstrap.sh

lint:
	cd backend && ../$(VENV)/ruff check src tests migrations && ../$(VENV)/ruff format --check src tests migrations

typecheck:
	cd backend && ../$(VENV)/mypy

pytest:
	cd backend && ../$(VENV)/pytest -q

clean:
	rm -rf .venv .morket
