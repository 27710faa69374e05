#!/usr/bin/env bash
# Builds (or reuses) the control-plane binaries for the envtest-based tests
# of deploy/k8s and prints the directory to use as KUBEBUILDER_ASSETS.
#
#   KUBEBUILDER_ASSETS=$(hack/envtest/build.sh) go test ./deploy/k8s/
#
# kube-apiserver is built from this nested module (k8s.io/kubernetes v1.37.2
# with its staging modules pinned to v0.37.2), because `go install` cannot
# build it with replace directives and setup-envtest cannot download here.
# A cold build takes about 11 minutes on 2 cores; the binary is cached in
# $BANTIN_ENVTEST_DIR (default /var/cache/bantin/envtest, or
# ~/.cache/bantin/envtest when that is not writable) and reused while the
# module's go.sum is unchanged. etcd comes from Debian's etcd-server package.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

dir="${BANTIN_ENVTEST_DIR:-}"
if [ -z "$dir" ]; then
  dir=/var/cache/bantin/envtest
  if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
    dir="$HOME/.cache/bantin/envtest"
  fi
fi
mkdir -p "$dir"

# The stamp hashes the module's contents (not its path), so a fresh clone in
# another folder reuses the cached binary.
stamp="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ ! -x "$dir/kube-apiserver" ] || [ "$(cat "$dir/kube-apiserver.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "building kube-apiserver into $dir (slow the first time)" >&2
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
  stamp="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
  echo "$stamp" > "$dir/kube-apiserver.stamp"
fi

etcd="$(command -v etcd || true)"
if [ -z "$etcd" ]; then
  echo "etcd not found: install Debian's etcd-server package" >&2
  exit 1
fi
ln -sf "$etcd" "$dir/etcd"
echo "$dir"
