# Multi-stage build of the vdc binary. SQLX_OFFLINE uses the committed .sqlx query data,
# so no database is needed at build time.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked -p vdc

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/vdc /usr/local/bin/vdc
USER 65534:65534
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["vdc", "serve"]
