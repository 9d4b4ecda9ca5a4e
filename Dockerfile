# syntax=docker/dockerfile:1
#
# fitfleet's container image: the worker (`fitfleet-worker`, the entrypoint) and the client
# (`fitfleet`), built in release mode, on a slim Debian runtime, as a non-root user.
#
#   docker build -t fitfleet:latest .
#   docker run --rm fitfleet:latest --help                       # the worker
#   docker run --rm --entrypoint fitfleet fitfleet:latest --help # the client
#
# Dependencies are compiled in their own layer (cargo-chef): editing the sources rebuilds only
# fitfleet's own crates. The CUDA variant is Dockerfile.cuda. Settings: docs/configuration.md.

ARG RUST_VERSION=1.95
# The builder and the runtime must be the same Debian release (glibc).
ARG DEBIAN_RELEASE=trixie

# ---- toolchain and cargo-chef -------------------------------------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
# The TLS stack of the AMQP client (aws-lc-sys) compiles C: gcc and make come with the image.
RUN cargo install cargo-chef --locked --version ~0.1
WORKDIR /src

# ---- the recipe: manifests and lock file only ---------------------------------------------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---- dependencies (cached until Cargo.toml or Cargo.lock change), then fitfleet ------------
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo chef cook --release --locked --workspace --recipe-path recipe.json
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked --workspace --bin fitfleet --bin fitfleet-worker \
 && install -D -m 0755 target/release/fitfleet target/release/fitfleet-worker -t /out/

# ---- runtime --------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: amqps:// verifies the broker's certificate against the system's CAs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fitfleet \
 && useradd --system --uid 10001 --gid fitfleet --home-dir /var/lib/fitfleet --create-home \
        --shell /usr/sbin/nologin fitfleet
COPY --from=builder /out/fitfleet /out/fitfleet-worker /usr/local/bin/

# Inside a container the metrics endpoint must listen on every interface (the default,
# 127.0.0.1:9898, is unreachable from outside). One thread per fit; parallelism across fits.
ENV FITFLEET_METRICS_ADDR=0.0.0.0:9898 \
    CANDLE_NUM_THREADS=1 \
    RAYON_NUM_THREADS=1

USER 10001:10001
WORKDIR /var/lib/fitfleet
EXPOSE 9898
# The worker drains on SIGTERM (stops consuming, finishes the fits in flight, exits 0 within
# drain_timeout_secs): give it that long (docker stop -t, compose stop_grace_period,
# Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# Exec form: the worker is PID 1 and receives SIGTERM itself (no shell in between).
ENTRYPOINT ["/usr/local/bin/fitfleet-worker"]
