# Multi-stage build of the vdc binary. SQLX_OFFLINE uses the committed .sqlx query data,
# so no database is needed at build time.
#
# Dependencies are compiled in a layer of their own (cargo-chef): `plan` reduces the tree to
# a recipe of manifests and the lock file, `build` compiles the dependencies from the recipe
# alone, and only then copies the sources. A change to the sources (not to a Cargo.toml or
# Cargo.lock) reuses the cached dependency layer instead of rebuilding every crate.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /src

FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
ENV SQLX_OFFLINE=true
COPY --from=plan /src/recipe.json recipe.json
RUN cargo chef cook --release -p vdc --recipe-path recipe.json
COPY . .
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
