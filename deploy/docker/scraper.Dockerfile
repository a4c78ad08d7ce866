# syntax=docker/dockerfile:1.7
# Morket scraper (uv workspace member morket-scraper, package morket_scraper, console script
# `morket-scraper`): FastAPI on SCRAPER_PORT (8001) driving Debian's Chromium with Playwright;
# health at GET /health. Every setting is a SCRAPER_ variable (scraper/src/morket_scraper/config.py).
# Build from the repository root:
#   docker build -f deploy/docker/scraper.Dockerfile -t morket-scraper .
# Chromium comes from Debian (apt), never `playwright install`. Run it with 2 CPU / 4 GB (compose
# and the ECS task set those limits).

FROM python:3.11.11-slim-bookworm AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_NO_CACHE_DIR=1 \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY . .
# Only the scraper and its dependencies; the API and the provider sandbox stay out.
RUN rm -rf scraper/tests \
    && uv sync --locked --no-dev --package morket-scraper \
    && rm -rf /root/.cache

FROM python:3.11.11-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/app/.venv/bin:$PATH \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 SCRAPER_PORT=8001 SCRAPER_CHROMIUM_PATH=/usr/bin/chromium \
    SCRAPER_POLICY_FILE=/app/scraper-policies.yaml \
    XDG_CONFIG_HOME=/tmp/.config XDG_CACHE_HOME=/tmp/.cache
# (Chromium's profile and fontconfig's cache go to /tmp: the ECS task's root filesystem is read-only.)
# Debian's Chromium and the fonts pages need (Latin, CJK, emoji); versions follow bookworm's
# security updates, so they are not pinned (a pinned version disappears from the mirror when a
# fix lands and the build breaks).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-noto-core \
       fonts-noto-cjk fonts-noto-color-emoji ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 morket \
    && useradd --system --uid 10001 --gid morket --create-home --home-dir /home/morket \
       --shell /usr/sbin/nologin morket
WORKDIR /app
COPY --from=build --chown=root:root /app/.venv /app/.venv
COPY --from=build --chown=root:root /app/scraper /app/scraper
COPY --chown=root:root deploy/docker/healthcheck.py /app/healthcheck.py
COPY --chown=root:root deploy/docker/scraper-policies.yaml /app/scraper-policies.yaml
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python", "/app/healthcheck.py", "scraper"]
ENTRYPOINT ["morket-scraper"]
# The port is SCRAPER_PORT (the health check reads the same variable).
CMD ["--host", "0.0.0.0"]
