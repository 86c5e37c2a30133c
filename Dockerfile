# syntax=docker/dockerfile:1.7
# One build stage, one runtime target per binary:
#   docker build --target controller -t rust-eso-controller .
#   docker build --target webhook    -t rust-eso-webhook .
# Runtime images are distroless (glibc + CA certificates, no shell), run as a non-root UID and
# work with a read-only root file system (nothing is written outside mounted volumes).

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p controller -p webhook \
 && mkdir -p /out \
 && cp target/release/controller target/release/webhook /out/

FROM gcr.io/distroless/cc-debian12:nonroot AS controller
COPY --from=build /out/controller /usr/local/bin/controller
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/controller"]
CMD ["run"]

FROM gcr.io/distroless/cc-debian12:nonroot AS webhook
COPY --from=build /out/webhook /usr/local/bin/webhook
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/webhook"]
CMD ["serve"]
