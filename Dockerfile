# One image with both binaries; compose and the Kubernetes manifests run it as the API and
# as the workers.
#
# Dependencies are built in their own layer from cargo-chef's recipe (the lock file and the
# manifests only), so a change to Dispatch's code rebuilds Dispatch alone.
FROM rust:1-bookworm AS chef
# cmake and nasm build libjpeg-turbo (the worker's JPEG decoder).
RUN apt-get update && apt-get install -y --no-install-recommends cmake nasm \
    && rm -rf /var/lib/apt/lists/* \
    && cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The build environment libsodium's configure must see (Argon2id's block from malloc).
COPY .cargo .cargo
RUN cargo chef cook --release --recipe-path recipe.json --bin dispatch-api --bin dispatch-worker
COPY . .
RUN cargo build --release --bin dispatch-api --bin dispatch-worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 dispatch \
    && useradd --system --uid 10001 --gid dispatch --home-dir /app --shell /usr/sbin/nologin dispatch \
    && mkdir -p /app/var/media /app/var/mail /var/lib/dispatch/media /var/lib/dispatch/mail \
    && chown -R dispatch:dispatch /app /var/lib/dispatch
COPY --from=build /src/target/release/dispatch-api /src/target/release/dispatch-worker /usr/local/bin/
USER 10001:10001
WORKDIR /app
ENV RUST_LOG=info \
    DISPATCH_BIND=0.0.0.0:8000 \
    DISPATCH_WORKER_METRICS_BIND=0.0.0.0:9100
EXPOSE 8000 9100
# The API's liveness; a worker container checks its own bind instead (compose and the
# manifests say so).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["dispatch-api"]
