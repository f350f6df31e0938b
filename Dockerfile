# One image with both binaries; compose runs it as the API and as the worker.
FROM rust:1-bookworm AS build
# cmake and nasm build libjpeg-turbo (the worker's JPEG decoder).
RUN apt-get update && apt-get install -y --no-install-recommends cmake nasm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/dispatch-api /src/target/release/dispatch-worker /usr/local/bin/
WORKDIR /app
ENV RUST_LOG=info
EXPOSE 8000
CMD ["dispatch-api"]
