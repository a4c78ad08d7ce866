# syntax=docker/dockerfile:1.7
# Development only: the provider sandbox (Apollo, Clearbit, Hunter, OpenAI, HubSpot, Salesforce
# emulated) for the compose stack, so enrichment works with no accounts. Never pushed to ECR and
# never deployed. The workspace member morket-sandbox (sandbox/) alone, console script `morket-sandbox`;
# the production images neither copy nor install it.

FROM python:3.11.11-slim-bookworm
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY . .
RUN uv sync --locked --no-dev --package morket-sandbox && rm -rf /root/.cache \
    && groupadd --system --gid 10001 morket \
    && useradd --system --uid 10001 --gid morket --home-dir /app --shell /usr/sbin/nologin morket
USER 10001:10001
EXPOSE 8010
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8010), 3)"]
ENTRYPOINT ["morket-sandbox"]
CMD ["--host", "0.0.0.0", "--port", "8010"]
