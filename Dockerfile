# The one Urna image: operator, vote, tally, audit and broker are subcommands of `urna`.
#
#   docker build -t ghcr.io/urna-dev/urna:dev .
#
# Stage 1 builds with the pinned Cargo.lock. The crypto crate builds GMP from its bundled source, which
# needs m4 and a C compiler.
FROM rust:1.95-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends m4 build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p urna \
 && cp target/release/urna /urna

# Stage 2: distroless, non-root; only the binary (GMP is linked statically).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /urna /usr/local/bin/urna
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/urna"]
CMD ["--help"]
