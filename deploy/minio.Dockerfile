# MinIO for docker-compose.yml, built from source at the commit storaged is
# tested against (test/support/minio-binary.ts): MinIO no longer publishes
# community images or binaries, and its README recommends `go install`. The
# module proxy knows the commit 7aac2a2c5b7c by this pseudo-version.
FROM golang:1.24-bookworm AS build
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath "github.com/minio/minio@${MINIO_VERSION}"

FROM debian:bookworm-slim
# curl for the health check; ca-certificates for TLS to KMS or remote tiers.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1001 --home-dir /data --shell /usr/sbin/nologin minio \
 && mkdir /data && chown minio:minio /data
COPY --from=build /out/minio /usr/local/bin/minio
USER minio
VOLUME ["/data"]
EXPOSE 9000 9001
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
