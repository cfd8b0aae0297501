# syntax=docker/dockerfile:1
# Sluice as a container: `sluice run` on the YAML mounted at /etc/sluice, the embedded store in the /data volume.
#
#   docker build -t sluice .
#   docker run -p 8080:8080 -v sluice-data:/data -v "$PWD/examples/quickstart:/etc/sluice:ro" sluice
#
# BASE_IMAGE must carry Node.js (20.19+ or 22+), npm, and a C++ toolchain with python3 for better-sqlite3's native
# build; RUNTIME_IMAGE only Node.js, the same major version. Builds without a registry pass a local image to both
# (docs/deploy.md). Node.js 24: with 22.15 or later `sluice run` restarts itself with V8's single-threaded collector
# when the container has two CPUs or fewer (its CPU limit counts), which lowers the tail latency there
# (docs/operations.md, "Garbage collection"); on Node.js 20 it cannot.
ARG BASE_IMAGE=node:24-bookworm
ARG RUNTIME_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
# Node.js images carry the headers native modules build against; use them instead of downloading them again.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY schemas ./schemas
COPY scripts ./scripts
# Compile, then drop the development dependencies (TypeScript, test tools) from node_modules.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf packages/*/src packages/*/test packages/dashboard/web packages/*/tsconfig*.json packages/*/*.tsbuildinfo

FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    SLUICE_HOST=0.0.0.0 \
    SLUICE_PORT=8080 \
    SLUICE_ADMIN_PORT=8090 \
    SLUICE_DATA_DIR=/data
RUN groupadd --system --gid 10001 sluice && useradd --system --uid 10001 --gid sluice --home-dir /data sluice \
  && mkdir -p /data /etc/sluice && chown sluice:sluice /data && chmod 0700 /data
COPY --from=build /src /opt/sluice
RUN ln -s /opt/sluice/packages/cli/dist/bin.js /usr/local/bin/sluice
USER sluice
WORKDIR /data
VOLUME ["/data"]
# The admin API stays on the container's loopback unless SLUICE_ADMIN_HOST says otherwise: it can change the
# configuration, so it is published only on purpose (docs/deploy.md).
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SLUICE_PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["sluice"]
CMD ["run", "-f", "/etc/sluice"]
