// Package k8s holds bantin's Kubernetes manifests (kustomize base, overlays
// and components, NATS manifests and Helm values) and the tests that keep
// them true to the binary: every overlay is rendered and decoded strictly
// into the real API types, its args, env, probes and grace periods are
// checked against the bantin command's own flags, its KEDA triggers against
// the consumers bantin creates on a real nats-server, and, when
// KUBEBUILDER_ASSETS names a kube-apiserver and etcd, every object is
// created on a real API server with strict field validation.
package k8s
