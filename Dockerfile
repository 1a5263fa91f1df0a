# Container image for Kubernetes mode (manifests/default). The binary is built outside the image — it is one
# self-contained executable — so the image is that file on a minimal base:
#
#   npm ci && npm run build                # dist/boot-operator (bun build --compile; linux x86-64, glibc)
#   docker build -t boot-operator:0.1.0 .
#
# Base: `ldd dist/boot-operator` lists only glibc (libc, libpthread, libdl, libm; symbols up to GLIBC_2.17), and
# distroless/cc ships Debian 12's glibc 2.36. cc rather than base: glibc loads libgcc_s.so.1 at run time to unwind
# threads (pthread_exit/pthread_cancel), and only the cc variant contains it. The runtime brings its own TLS stack
# and root certificates; in the cluster the API server's CA comes from the service-account mount.
# Pin the base by digest for reproducible builds: --build-arg BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:…
# For arm64 nodes build the binary with `bun build --compile --target=bun-linux-arm64` and pass --platform linux/arm64.
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# Deployments written for the Go operator run `command: [/manager]`: /manager is a link to this binary, which then
# starts as the Go manager would (serve, with the Go manager's defaults). Distroless has no shell, so the link is
# made here; copying a directory keeps the links inside it.
FROM busybox:stable AS links
RUN mkdir /out && ln -s /boot-operator /out/manager

FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="boot-operator" \
      org.opencontainers.image.description="Network-boot appliance: iPXE scripts, Ignition and UKIs from boot.ironcore.dev resources" \
      org.opencontainers.image.licenses="Apache-2.0"

# Owned by root and not writable by the process; the pod runs with a read-only root filesystem anyway.
COPY dist/boot-operator /boot-operator
COPY --from=links /out/ /

# Numeric, so the kubelet can verify runAsNonRoot (it refuses a user name it cannot resolve): distroless "nonroot".
USER 65532:65532
EXPOSE 8082
ENTRYPOINT ["/boot-operator", "serve"]
