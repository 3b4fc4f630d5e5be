# syntax=docker/dockerfile:1
# reelgate as a container: built in a full Rust image, run as a non-root user in a distroless
# one (glibc, CA certificates, nothing else). SQLite is compiled into the binary.
# Not built in this repository's CI: see docs/DEPLOY.md.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin reelgate \
 && cp target/release/reelgate /reelgate \
 && mkdir -p /state/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /reelgate /usr/local/bin/reelgate
# The working directory holds data/ (the default SQLite file); owned by the image's
# non-root user (uid 65532), so a fresh volume mounted there is writable.
COPY --from=build --chown=65532:65532 /state /var/lib/reelgate
WORKDIR /var/lib/reelgate
USER 65532:65532
ENV REELGATE_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/var/lib/reelgate/data"]
ENTRYPOINT ["/usr/local/bin/reelgate"]
CMD ["serve"]
