# The two commands of the README, and a few helpers.
.PHONY: run test lint typecheck pytest bootstrap lock clean deploy-check deploy-fmt web web-check web-client

VENV := .venv/bin

run: bootstrap web
	$(VENV)/morket dev

test: bootstrap lint typecheck deploy-check web-check pytest

bootstrap:
	@scripts/bootstrap.sh

lint:
	cd backend && ../$(VENV)/ruff check --config pyproject.toml src tests migrations ../bench ../deploy \
		&& ../$(VENV)/ruff format --config pyproject.toml --check src tests migrations ../bench ../deploy
	cd scraper && ../$(VENV)/ruff check src tests && ../$(VENV)/ruff format --check src tests
	cd client && ../$(VENV)/ruff check src && ../$(VENV)/ruff format --check src
	cd sandbox && ../$(VENV)/ruff check src tests && ../$(VENV)/ruff format --check src tests

typecheck:
	cd backend && ../$(VENV)/mypy
	cd scraper && ../$(VENV)/mypy
	cd client && ../$(VENV)/mypy
	cd sandbox && ../$(VENV)/mypy

pytest: web
	cd backend && ../$(VENV)/pytest -q
	cd scraper && ../$(VENV)/pytest -q
	cd sandbox && ../$(VENV)/pytest -q

lock:
	@BOOTSTRAP_UV_ONLY=1 scripts/bootstrap.sh
	.uv/bin/uv lock

clean:
	rm -rf .venv .venv-checkov .uv .morket

# Static checks of the deployment (docs/deploy.md): Dockerfiles, workflows, Terraform, compose.
# The Python-level checks (HCL parse, module wiring, settings coverage, compose schema) are
# pytest tests in backend/tests/deploy. checkov is scoped to deploy/ and two frameworks: it is slow.
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
deploy-check:
	$(VENV)/hadolint deploy/docker/*.Dockerfile
	$(VENV)/actionlint
	shellcheck deploy/scripts/*.sh
	TF_CLI_CONFIG_FILE=/dev/null $(VENV)/python deploy/checks/terraform_fmt.py
	$(COMPOSE) -f compose.yaml --env-file deploy/compose.env.example config -q
	.venv-checkov/bin/checkov -d deploy --framework terraform dockerfile --compact --quiet --skip-download

deploy-fmt:
	TF_CLI_CONFIG_FILE=/dev/null $(VENV)/python deploy/checks/terraform_fmt.py --write
# The web app: built when its sources changed (the API serves web/dist at /); checks include the
# drift check of the generated API client; `make web-client` regenerates it after an API change.
web: bootstrap
	@scripts/web.sh build

web-check: bootstrap
	@scripts/web.sh check

web-client: bootstrap
	@scripts/web.sh client
