# syntax=docker/dockerfile:1
#
# authgate container image.
#
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" -t ghcr.io/authgate/authgate:0.1.0 .
#   docker run --read-only --tmpfs /tmp -e OIDC_CLIENT_SECRET -e SESSION_KEY \
#     -v ./config.yaml:/etc/authgate/config.yaml:ro -p 4180:4180 ghcr.io/authgate/authgate:0.1.0
#
# Three stages: `build` compiles TypeScript with every dependency, `deps` installs the production
# dependencies alone, and the runtime stage gets only what those two produced plus package.json and the
# example configuration. No Docker engine runs in CI, so test/image/image-steps.test.ts reads this file and
# replays its steps (the same COPYs and the same install command) in a clean directory: keep them in step.
# The image's one name is ghcr.io/authgate/authgate (the url label below, the chart's image.repository,
# the docs and .github/workflows/release.yml; test/image/image-name.test.ts keeps them equal).
# Docs: docs/docker.md.

# One knob for the Node.js major of every stage; the build stages and the runtime are all Debian 12, so the
# glibc that sodium-native's prebuilt binary links against is the same everywhere.
ARG NODE_MAJOR=24

# ---- build: TypeScript → dist/ ---------------------------------------------------------------------------
# The compiled JavaScript does not depend on the CPU, so this stage runs on the builder's own platform
# (no emulation in a multi-platform build).
FROM --platform=$BUILDPLATFORM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would run tsc before the sources are here.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ------------------------------------------------------------------
# Also on the builder's platform: no production package is platform-specific (sodium-native ships the
# prebuilt binaries of every platform inside its npm package, and the image-steps test checks the lockfile
# for os/cpu-specific packages), so the same node_modules serves amd64 and arm64.
FROM --platform=$BUILDPLATFORM node:${NODE_MAJOR}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs tsc, a dev dependency; no production package needs an install script.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------------------
# Distroless: Node.js and the C/C++ runtime libraries, no shell, no package manager, no npm, so far fewer
# packages for scanners to flag and nothing for an intruder to work with. The :nonroot tag's user is 65532.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS runtime

ARG NODE_MAJOR
# Set by the release build; the default is package.json's version (the image-steps test keeps them equal).
ARG VERSION=0.1.0
ARG REVISION=""
# The repository's URL; ghcr.io links the image to the repository named here. A fork's build passes its own.
ARG SOURCE="https://github.com/authgate/authgate"

LABEL org.opencontainers.image.title="authgate" \
      org.opencontainers.image.description="OpenID Connect authentication gateway: a reverse proxy that signs users in and forwards their identity and access token to legacy apps" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="https://ghcr.io/authgate/authgate" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot"

WORKDIR /app
# Everything is owned by root and read-only to the user the gateway runs as. Nothing is written at run
# time (logs go to stdout), so the container works with a read-only root filesystem; /tmp stays unused.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY config/example.yaml ./config/example.yaml

ENV NODE_ENV=production
# What the HEALTHCHECK asks; change it with -e when server.listen is not on port 4180.
ENV AUTHGATE_HEALTHCHECK_URL=http://127.0.0.1:4180/ping

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 4180
STOPSIGNAL SIGTERM

# Liveness only (/ping): /ready turns 503 while the provider is unreachable, which is no reason to restart.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch(process.env.AUTHGATE_HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]

# Distroless has node at /nodejs/bin/node and not on PATH. --max-semi-space-size=8 (MB): V8's young
# generation grows to 2 x 16 MB by default. The gateway's per-request garbage dies young: 8 MB semi-spaces
# scavenge 35% less often than 4 MB (GC per request 5.2 -> 3.1 us under load) and keep RSS under load below
# 130 MB, where 16 MB does not (BENCHMARKS.md runs it the same way).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "/app/dist/cli.js"]
CMD ["--config", "/etc/authgate/config.yaml"]
