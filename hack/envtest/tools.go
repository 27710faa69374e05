//go:build tools

// Package envtest pins the kube-apiserver command for `go build`; it has no
// code of its own.
package envtest

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
