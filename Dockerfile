# syntax=docker/dockerfile:1
# lq-replicator: one image for every `lqr` command (connector, replica, lab, audit, ...).
#
#   docker build -t lq-replicator:dev .
#   docker run --rm lq-replicator:dev --help
#   docker run --rm -e KAFKA_BROKERS=kafka:9092 -v lqr-data:/var/lib/lqr \
#     lq-replicator:dev replica --data-dir /var/lib/lqr --host :: --allow-all
#
# Stage 1 compiles the TypeScript (dev dependencies present); stage 2 holds only the
# production dependencies and the compiled JavaScript, and runs as the unprivileged
# "node" user (uid 1000). The leasequery listeners default to port 5470 so no
# capability is needed; publish or map them to 547 outside (see deploy/).

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, for layer caching. --ignore-scripts: the package's "prepare" script
# would run the build before the sources are here.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# src/ imports the local-Kafka launcher (deploy/kafka) for the one-command demo. The
# benchmarks (bench/, also in tsconfig.build.json) are not part of the image.
COPY deploy/kafka ./deploy/kafka
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LQR_LOG_LEVEL=info
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /var/lib/lqr \
 && chown node:node /var/lib/lqr
COPY --from=build /app/dist/src ./dist/src
# The launcher is only used by the demo's own Kafka, which needs Java and Maven: not in
# this image (use deploy/compose instead). Copied so that every module resolves.
COPY --from=build /app/dist/deploy/kafka ./dist/deploy/kafka
COPY deploy/kafka/pom.xml ./deploy/kafka/pom.xml
COPY schemas ./schemas
COPY deploy/examples ./deploy/examples
USER node
# Snapshots and the replica's server DUID (lqr replica --data-dir /var/lib/lqr).
VOLUME ["/var/lib/lqr"]
# 5470 = leasequery UDP + TCP (replica, lab), 9470 = replica HTTP, 9464 = connector metrics.
EXPOSE 5470/udp 5470/tcp 9470/tcp 9464/tcp
# The package's "bin" entry (package.json: "lqr": "dist/src/cli/lqr.js").
ENTRYPOINT ["node", "/app/dist/src/cli/lqr.js"]
CMD ["--help"]
