# syntax=docker/dockerfile:1
# One image for every bantin role; each Kubernetes Deployment differs only
# in args (bantin ingest | summarize | publish | nats init).
#
#   docker build -t bantin .                  # static binary alone, non-root
#   docker build -t bantin:ocr --target ocr . # plus tesseract-ocr-vie and poppler-utils
#
# Both run as a non-root user and work with a read-only root filesystem
# (writable /tmp comes from an emptyDir in the manifests).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/bantin .

# The OCR role needs tesseract (with Vietnamese) and pdftoppm from
# poppler-utils; the other roles need nothing but the binary.
FROM debian:bookworm-slim AS ocr
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie poppler-utils ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --user-group --no-create-home --shell /usr/sbin/nologin bantin
COPY --from=build /out/bantin /usr/local/bin/bantin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bantin"]

# Default target: the static binary alone, with CA certificates (ingest
# fetches over HTTPS, summarize may call an LLM) and a non-root user.
FROM scratch AS default
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/bantin /usr/local/bin/bantin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bantin"]
