package k8s

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// TestOverlaysOnAPIServer creates every rendered object of every overlay on
// a real kube-apiserver (with KEDA's CRDs from the KEDA module) with strict
// field validation, and checks that the server rejects each bad fixture.
// It needs KUBEBUILDER_ASSETS naming a directory with kube-apiserver and
// etcd (hack/envtest/build.sh makes one; .ci/run sets it) and skips
// without it.
func TestOverlaysOnAPIServer(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("BANTIN_TEST_STRICT") == "1" {
			t.Fatal("KUBEBUILDER_ASSETS is unset: run KUBEBUILDER_ASSETS=$(hack/envtest/build.sh) go test ./deploy/k8s/")
		}
		t.Skip("KUBEBUILDER_ASSETS is unset: run KUBEBUILDER_ASSETS=$(hack/envtest/build.sh) go test ./deploy/k8s/ (needs Debian's etcd-server)")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kedacore/keda/v2").Output()
	if err != nil {
		t.Fatalf("finding the KEDA module: %v", err)
	}
	kedaCRDs := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{kedaCRDs},
		CRDs:                  monitoringCRDs(),
		ErrorIfCRDPathMissing: true,
	}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd from %s: %v", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	t.Logf("API server up in %s", time.Since(start).Round(time.Millisecond))
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	for _, o := range overlays {
		t.Run(o.dir, func(t *testing.T) {
			// Each overlay in its own namespace, so they do not collide.
			ns := "bantin-" + strings.ReplaceAll(filepath.Base(o.dir), "_", "-")
			var objs []*unstructured.Unstructured
			for _, y := range kustomize(t, o.dir) {
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(y, &u.Object); err != nil {
					t.Fatal(err)
				}
				switch {
				case u.GetKind() == "Namespace":
					u.SetName(ns)
				case u.GetNamespace() != "":
					u.SetNamespace(ns)
				}
				objs = append(objs, u)
			}
			// Namespaces first.
			for pass := range 2 {
				for _, u := range objs {
					if (u.GetKind() == "Namespace") != (pass == 0) {
						continue
					}
					if err := c.Create(ctx, u, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
						t.Errorf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
					}
				}
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		nsObj := &unstructured.Unstructured{}
		nsObj.SetAPIVersion("v1")
		nsObj.SetKind("Namespace")
		nsObj.SetName("invalid")
		if err := c.Create(ctx, nsObj); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob("testdata/invalid/*.yaml")
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				u := &unstructured.Unstructured{}
				if err := yaml.UnmarshalStrict(data, &u.Object); err != nil {
					if name == "decode-duplicate-field.yaml" {
						// A duplicate key never reaches a server: the client's
						// YAML decoding refuses it, as here.
						t.Skipf("rejected before the API server: %v", err)
					}
					t.Fatal(err)
				}
				u.SetNamespace("invalid")
				err = c.Create(ctx, u, client.FieldValidation(metav1.FieldValidationStrict))
				if err == nil {
					t.Fatalf("the API server accepted %s", name)
				}
				if want := wantedError(t, data); strings.HasPrefix(name, "server-") && !strings.Contains(err.Error(), want) {
					t.Fatalf("the API server rejected %s with %q; want it to mention %q", name, err, want)
				}
				t.Logf("rejected: %v", err)
			})
		}
	})
}

// monitoringCRDs registers the Prometheus Operator kinds the prod overlay
// uses. Their CRDs ship with no Go module, so the server checks only names,
// namespaces and routing here; their fields are checked by strict decoding
// into the operator's Go types in TestOverlaysRenderAndDecodeStrictly.
func monitoringCRDs() []*apiextensionsv1.CustomResourceDefinition {
	preserve := true
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, k := range []struct{ kind, plural string }{
		{"PodMonitor", "podmonitors"}, {"ServiceMonitor", "servicemonitors"}, {"PrometheusRule", "prometheusrules"},
	} {
		crds = append(crds, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: k.plural + ".monitoring.coreos.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "monitoring.coreos.com",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: k.kind, Plural: k.plural, ListKind: k.kind + "List"},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		})
	}
	return crds
}
