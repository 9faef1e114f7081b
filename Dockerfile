# storaged in a container. One container per SQLite file: never run two
# replicas on the same volume (SQLite has one writer; the seed's two-replica
# Kubernetes example would corrupt data).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The SO_PEERCRED addon (STORAGED_SOCKET_AUTH=peercred) is a file: dependency
# built by npm ci with the tools above; node_modules links to it, so the final
# stage copies it too.
COPY packages/peer-credentials ./packages/peer-credentials
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# HOST=0.0.0.0 listens on every interface, so with the local blob backend
# (no MINIO_ENDPOINT) the daemon refuses to start until STORAGED_PUBLIC_URL
# says which URL clients reach it at, e.g. -e STORAGED_PUBLIC_URL=http://storaged:3001.
ENV NODE_ENV=production \
    STORAGED_DATA_DIR=/data \
    STORAGED_SOCKET=/run/storaged/storaged.sock \
    HOST=0.0.0.0 \
    PORT=3001
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages/peer-credentials ./packages/peer-credentials
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY migrations ./migrations
COPY openapi ./openapi
RUN mkdir -p /data /run/storaged && chown node:node /data /run/storaged && chmod 0700 /data
USER node
VOLUME ["/data", "/run/storaged"]
EXPOSE 3001
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:3001/health',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
CMD ["node", "dist/src/daemon/bin.js"]
