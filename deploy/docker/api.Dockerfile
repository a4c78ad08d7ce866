# syntax=docker/dockerfile:1.7
# Morket API and worker: one image, two commands (`morket api`, `morket worker`); migrations run
# as a one-off `morket db upgrade`. Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t morket-api .
# The provider sandbox is NOT in this image: it is its own workspace member (sandbox/, a dev extra
# of morket only), its sources are not in the build context (api.Dockerfile.dockerignore) and
# `uv sync --no-dev --package morket` does not install it (see docs/deploy.md, "What is in the images").

# --- web UI: npm ci + npm run build -> web/dist, served by the API at / ---
FROM node:20.18.1-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- Python environment from uv.lock ---
FROM python:3.11.11-slim-bookworm AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_NO_CACHE_DIR=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
# Every workspace member's pyproject must be present for `uv sync --locked` to check the lock,
# so the context is the repository (trimmed by api.Dockerfile.dockerignore).
COPY . .
# Tests never ship; neither does the provider emulator (only sandbox/pyproject.toml is in the context).
RUN rm -rf backend/tests \
    && uv sync --locked --no-dev --package morket \
    && rm -rf /root/.cache

# --- runtime ---
FROM python:3.11.11-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/app/.venv/bin:$PATH \
    MORKET_ENV=production PORT=8000 WEB_DIST_DIR=/app/web/dist
RUN groupadd --system --gid 10001 morket \
    && useradd --system --uid 10001 --gid morket --home-dir /app --shell /usr/sbin/nologin morket
WORKDIR /app
COPY --from=build --chown=root:root /app/.venv /app/.venv
COPY --from=build --chown=root:root /app/backend/src /app/backend/src
COPY --from=build --chown=root:root /app/backend/migrations /app/backend/migrations
COPY --from=build --chown=root:root /app/backend/alembic.ini /app/backend/alembic.ini
# WEB_DIST_DIR (morket.webui): the API serves this build at /.
COPY --from=web --chown=root:root /src/web/dist /app/web/dist
COPY --chown=root:root deploy/docker/healthcheck.py /app/healthcheck.py
USER 10001:10001
EXPOSE 8000
# The worker has no HTTP port: its check (in compose and the ECS task) is `healthcheck.py temporal`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["python", "/app/healthcheck.py", "api"]
ENTRYPOINT ["morket"]
CMD ["api", "--host", "0.0.0.0"]
