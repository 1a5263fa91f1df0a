# Container image for Kubernetes mode (manifests/default, chart/boot-operator): one self-contained executable
# (bun build --compile) on a minimal base. The image builds the binary itself, for the platform asked for:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/boot-operator:0.1.0 --push .
#   buildah bud --platform linux/arm64 -t boot-operator:0.1.0 .
#
# The build stage runs on the build machine's platform and cross-compiles (`bun build --compile
# --target=bun-linux-x64|bun-linux-arm64`), so arm64 images need no emulation. To package a binary built outside
# (`npm run build`, linux/amd64 only), pass --build-arg BINARY_STAGE=context: dist/boot-operator is copied instead.
#
# Base: the binary needs glibc only (`ldd`: libc, libpthread, libdl, libm; symbols up to GLIBC_2.17) plus
# libgcc_s.so.1, which glibc loads at run time to unwind threads (pthread_exit/pthread_cancel). debian:12-slim has
# both; a distroless "cc" image (glibc + libgcc, no shell) is smaller: pass it as BASE_IMAGE, pinned by digest for
# reproducible builds (BASE_IMAGE=…/distroless/cc-debian12:nonroot@sha256:…). The runtime brings its own TLS stack
# and root certificates; in the cluster the API server's CA comes from the service-account mount.
# test/oci/image.test.ts builds this file with local base images (BASE_IMAGE, LINKS_IMAGE, BINARY_STAGE=context),
# pushes it to a registry and runs it.
ARG BUN_IMAGE=oven/bun:1.4.5
ARG BASE_IMAGE=debian:12-slim
ARG LINKS_IMAGE=busybox:stable
ARG BINARY_STAGE=build

FROM --platform=$BUILDPLATFORM ${BUN_IMAGE} AS build
ARG TARGETARCH
# The commit baked into `boot-operator version` (there is no .git in the build context).
ARG COMMIT=unknown
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN bun install --production --ignore-scripts
COPY src/ src/
# The embedded sample source (src/sources/files/embedded-source.ts) imports these.
COPY manifests/samples/ manifests/samples/
COPY scripts/build.ts scripts/build.ts
RUN case "$TARGETARCH" in amd64) target=bun-linux-x64 ;; arm64) target=bun-linux-arm64 ;; *) echo "unsupported TARGETARCH=$TARGETARCH" >&2; exit 1 ;; esac \
    && BOOT_OPERATOR_BUILD_TARGET="$target" BOOT_OPERATOR_BUILD_COMMIT="$COMMIT" bun scripts/build.ts /out/boot-operator

FROM scratch AS context
COPY dist/boot-operator /out/boot-operator

FROM ${BINARY_STAGE} AS binary

# Deployments written for the Go operator run `command: [/manager]`: /manager is a link to this binary, which then
# starts as the Go manager would (serve, with the Go manager's defaults). The base may have no shell, so the link is
# made here; copying a directory keeps the links inside it.
FROM ${LINKS_IMAGE} AS links
RUN mkdir /out && ln -s /boot-operator /out/manager

FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="boot-operator" \
      org.opencontainers.image.description="Network-boot appliance: iPXE scripts, Ignition and UKIs from boot.ironcore.dev resources" \
      org.opencontainers.image.licenses="Apache-2.0"

# Owned by root and not writable by the process; the pod runs with a read-only root filesystem anyway.
COPY --from=binary /out/boot-operator /boot-operator
COPY --from=links /out/ /

# Numeric, so the kubelet can verify runAsNonRoot (it refuses a user name it cannot resolve).
USER 65532:65532
EXPOSE 8082
ENTRYPOINT ["/boot-operator", "serve"]
