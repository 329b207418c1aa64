# Multi-stage build of the vdc binary. SQLX_OFFLINE uses the committed .sqlx query data,
# so no database is needed at build time.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked -p vdc

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown 65534:65534 /data
COPY --from=build /src/target/release/vdc /usr/local/bin/vdc
USER 65534:65534
# SQLite store, generated KEK and admin-key hash live here when no Postgres/VDC_KEK is given.
ENV VDC_DATA_DIR=/data VDC_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
# vdc finishes requests in flight on SIGTERM, then exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 \
    CMD ["vdc", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["vdc", "serve"]
