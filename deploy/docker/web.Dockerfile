# syntax=docker/dockerfile:1.7
# Morket web UI as a static site behind nginx (the compose stack's :8080; in AWS the same build
# goes to S3 + CloudFront, and the API image also serves it at /). /api/ is proxied to the API.
#   docker build -f deploy/docker/web.Dockerfile -t morket-web .

FROM node:20.18.1-bookworm-slim AS build
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.27.3-alpine-slim AS runtime
COPY --chown=root:root deploy/docker/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build --chown=root:root /src/web/dist /usr/share/nginx/html
# nginx-unprivileged runs as uid 101 and listens on 8080.
USER 101
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
