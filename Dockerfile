# The action image: one static binary on scratch, plus the CA bundle for TLS to registries.
# GitHub runs Docker actions as root (the workspace, the file-command files and the Docker
# socket all belong to the runner), so the default "action" stage keeps the root user; the
# "cli" stage is the same image running as an unprivileged user, for use outside Actions.
ARG GO_VERSION=1.26
# The Go image of the build stage. CI, which reaches no registry, passes a local stand-in
# made as the shop's base is (hack/standin-bases.sh golang: debootstrap + the host's Go).
ARG BUILD_IMAGE=golang:${GO_VERSION}-bookworm

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# The binary is linked stripped (-s -w), so no debug information is compiled either: a
# tenth off the compile every workflow run pays.
ENV CGO_ENABLED=0 GOFLAGS="-trimpath -gcflags=all=-dwarf=false"
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-s -w -X github.com/deploy-action/deploy-action/internal/cli.version=${VERSION} -X github.com/deploy-action/deploy-action/internal/cli.commit=${COMMIT}" \
      -o /out/deploy-action ./cmd/deploy-action \
 && mkdir -m 1777 /out/tmp

FROM scratch AS cli
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/deploy-action /usr/local/bin/deploy-action
# A BuildKit build's result is spooled to temporary files before the push reads it.
COPY --from=build /out/tmp /tmp
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/deploy-action"]

FROM cli AS action
USER 0:0
