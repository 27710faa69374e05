package k8s

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay is one kustomization an operator applies.
type overlay struct {
	dir string
	// pending names what the binary lacks for this overlay to be valid
	// (a command, or flags): the cross-checks skip it, naming that, while
	// the binary still lacks it, and check it fully once it has it.
	pending string
}

// overlays are every kustomization operators apply; each is rendered and
// checked.
var overlays = []overlay{
	{dir: "overlays/dev"},
	{dir: "overlays/prod"},
	{dir: "overlays/prod-hpa"},
	{dir: "overlays/prod-secrets"},
}

// object is one rendered manifest: its YAML and the typed object strict
// decoding made of it.
type object struct {
	yaml []byte
	obj  runtime.Object
	kind string
	name string
}

func newScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, kedav1alpha1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatalf("building scheme: %v", err)
		}
	}
	return s
}

// decodeStrict decodes one manifest into its registered Go type, failing
// on unknown or duplicate fields, wrong types and unregistered
// apiVersion/kind.
func decodeStrict(scheme *runtime.Scheme, data []byte) (runtime.Object, error) {
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, _, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	return obj, err
}

// kustomize renders dir (relative to this package) into YAML documents.
func kustomize(t testing.TB, dir string) [][]byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("rendering %s in %s: %v", r.CurId(), dir, err)
		}
		docs = append(docs, y)
	}
	if len(docs) == 0 {
		t.Fatalf("kustomize build %s rendered nothing", dir)
	}
	return docs
}

// render renders and strictly decodes an overlay.
func render(t testing.TB, scheme *runtime.Scheme, dir string) []object {
	t.Helper()
	var objs []object
	for _, y := range kustomize(t, dir) {
		obj, err := decodeStrict(scheme, y)
		if err != nil {
			t.Fatalf("%s: decoding strictly:\n%s\nerror: %v", dir, y, err)
		}
		gvk := obj.GetObjectKind().GroupVersionKind()
		name := ""
		if m, ok := obj.(interface{ GetName() string }); ok {
			name = m.GetName()
		}
		objs = append(objs, object{yaml: y, obj: obj, kind: gvk.Kind, name: name})
	}
	return objs
}

func TestOverlaysRenderAndDecodeStrictly(t *testing.T) {
	scheme := newScheme(t)
	for _, o := range overlays {
		t.Run(o.dir, func(t *testing.T) {
			objs := render(t, scheme, o.dir)
			kinds := map[string]int{}
			for _, ob := range objs {
				kinds[ob.kind]++
			}
			// Every overlay runs the three roles and NATS.
			if kinds["Deployment"] < 3 || kinds["StatefulSet"] != 1 || kinds["Job"] != 1 {
				t.Errorf("%s renders %v; want ≥3 Deployments, 1 NATS StatefulSet and the nats-init Job", o.dir, kinds)
			}
		})
	}
}

// TestStrictDecodingRejectsBadManifests proves the decoding above can fail:
// each file under testdata/invalid named decode-*.yaml has one defect
// (unknown field, wrong type, bad apiVersion…) that strict decoding must
// report; server-*.yaml files decode and are left for the API server.
func TestStrictDecodingRejectsBadManifests(t *testing.T) {
	scheme := newScheme(t)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures under testdata/invalid: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := wantedError(t, data)
			_, err = decodeStrict(scheme, data)
			switch {
			case strings.HasPrefix(name, "decode-"):
				if err == nil {
					t.Fatalf("strict decoding accepted %s; want an error containing %q", name, want)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("strict decoding of %s failed with %q; want it to mention %q", name, err, want)
				}
			case strings.HasPrefix(name, "server-"):
				if err != nil {
					t.Fatalf("%s should decode (only the API server can reject it): %v", name, err)
				}
			default:
				t.Fatalf("fixture %s must be named decode-*.yaml or server-*.yaml", name)
			}
		})
	}
}

// wantedError reads the fixture's "# want: …" line: the text the error
// must contain.
func wantedError(t testing.TB, data []byte) string {
	t.Helper()
	for _, line := range bytes.Split(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("# want: ")); ok {
			return string(bytes.TrimSpace(rest))
		}
	}
	t.Fatal("fixture has no '# want: <error text>' line")
	return ""
}
