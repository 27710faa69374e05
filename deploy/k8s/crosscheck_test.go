package k8s

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/cli"
	"github.com/bantin/bantin/internal/httpx"
	"github.com/bantin/bantin/services/ingest/extract"
)

// consumerRoles are the commands that hold JetStream messages: their pods'
// grace period must outlast AckWait and the drain.
var consumerRoles = map[string]bool{"summarize": true, "ocr": true}

// drainGrace is how long a summarize worker lets in-flight reports finish
// after SIGTERM before it naks them (summarize.Config.ShutdownGrace's
// default).
const drainGrace = 20 * time.Second

// positional is what each command takes after its flags.
var positional = map[string][]string{"nats": {"init"}}

// bundle is one rendered overlay, indexed.
type bundle struct {
	objs        []object
	deployments map[string]*appsv1.Deployment
	statefuls   map[string]*appsv1.StatefulSet
	jobs        map[string]*batchv1.Job
	configMaps  map[string]*corev1.ConfigMap
	services    map[string]*corev1.Service
	scaled      []*kedav1alpha1.ScaledObject
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
}

func index(objs []object) *bundle {
	b := &bundle{
		objs:        objs,
		deployments: map[string]*appsv1.Deployment{},
		statefuls:   map[string]*appsv1.StatefulSet{},
		jobs:        map[string]*batchv1.Job{},
		configMaps:  map[string]*corev1.ConfigMap{},
		services:    map[string]*corev1.Service{},
	}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			b.deployments[v.Name] = v
		case *appsv1.StatefulSet:
			b.statefuls[v.Name] = v
		case *batchv1.Job:
			b.jobs[v.Name] = v
		case *corev1.ConfigMap:
			b.configMaps[v.Name] = v
		case *corev1.Service:
			b.services[v.Name] = v
		case *kedav1alpha1.ScaledObject:
			b.scaled = append(b.scaled, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			b.hpas = append(b.hpas, v)
		case *policyv1.PodDisruptionBudget:
			b.pdbs = append(b.pdbs, v)
		}
	}
	return b
}

// findings separates what the binary lacks (a command or flag: pending
// work elsewhere) from everything else that is wrong.
type findings struct {
	missing  []string
	problems []string
}

func (f *findings) miss(format string, args ...any) {
	f.missing = append(f.missing, fmt.Sprintf(format, args...))
}

func (f *findings) bad(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// TestManifestsMatchBinary checks every overlay against the code: args and
// env are flags the bantin command accepts (asked of its own flag set),
// probes hit paths and ports it serves, grace periods outlast AckWait, and
// every Service, PDB, HPA and ScaledObject points at what the bundle has.
func TestManifestsMatchBinary(t *testing.T) {
	scheme := newScheme(t)
	served := servedPaths(t)
	for _, o := range overlays {
		t.Run(o.dir, func(t *testing.T) {
			b := index(render(t, scheme, o.dir))
			var f findings
			for _, d := range b.deployments {
				checkPod(&f, b, "Deployment/"+d.Name, &d.Spec.Template.Spec, served, true)
			}
			for _, j := range b.jobs {
				checkPod(&f, b, "Job/"+j.Name, &j.Spec.Template.Spec, served, false)
			}
			checkSelectors(&f, b)
			checkScalers(&f, b)
			for _, p := range f.problems {
				t.Error(p)
			}
			if len(f.missing) > 0 {
				msg := strings.Join(f.missing, "\n  ")
				if o.pending != "" {
					t.Skipf("pending on %s; the binary lacks:\n  %s", o.pending, msg)
				}
				t.Errorf("the manifests use what the bantin binary does not have:\n  %s", msg)
			}
		})
	}
}

// servedPaths asks the HTTP plumbing every role shares which probe paths
// it answers.
func servedPaths(t testing.TB) map[string]bool {
	t.Helper()
	srv := httpx.New("127.0.0.1:0", prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	out := map[string]bool{}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/nonexistent-probe-path"} {
		rec := httptest.NewRecorder()
		srv.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		out[p] = rec.Code == http.StatusOK
	}
	if !out["/healthz"] || !out["/readyz"] || out["/nonexistent-probe-path"] {
		t.Fatalf("httpx serves %v; want /healthz and /readyz and nothing unknown", out)
	}
	return out
}

// checkPod checks the bantin container of one pod template.
func checkPod(f *findings, b *bundle, owner string, spec *corev1.PodSpec, served map[string]bool, long bool) {
	var c *corev1.Container
	for i := range spec.Containers {
		if spec.Containers[i].Name == "bantin" {
			c = &spec.Containers[i]
		}
	}
	if c == nil {
		f.bad("%s has no container named bantin", owner)
		return
	}
	if len(c.Command) > 0 {
		f.bad("%s overrides the image's entrypoint (command %v); set only args", owner, c.Command)
	}
	if len(c.Args) == 0 {
		f.bad("%s: args must name the bantin command", owner)
		return
	}
	cmd := c.Args[0]
	fs, ok := cli.CommandFlags(cmd)
	if !ok {
		f.miss("%s runs `bantin %s`, which is not a command", owner, cmd)
		return
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(c.Args[1:]); err != nil {
		f.miss("%s: bantin %s rejects args %v: %v", owner, cmd, c.Args[1:], err)
		return
	}
	if got, want := strings.Join(fs.Args(), " "), strings.Join(positional[cmd], " "); got != want {
		f.bad("%s: bantin %s given arguments %q after its flags; want %q", owner, cmd, got, want)
	}
	fromArgs := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { fromArgs[fl.Name] = true })

	// The environment as the container gets it: envFrom in order, then env.
	env := map[string]*string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			f.bad("%s: envFrom only from ConfigMaps (secrets go in as files)", owner)
			continue
		}
		cm, ok := b.configMaps[ef.ConfigMapRef.Name]
		if !ok {
			f.bad("%s: envFrom ConfigMap %s is not in the bundle", owner, ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[k] = &v
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			env[e.Name] = nil
			continue
		}
		env[e.Name] = &e.Value
	}
	byEnv := map[string]string{}
	var help strings.Builder
	fs.VisitAll(func(fl *flag.Flag) {
		byEnv[cli.EnvName(fl.Name)] = fl.Name
		help.WriteString(fl.Usage + "\n")
	})
	for name, val := range env {
		fl, ok := byEnv[name]
		switch {
		case !strings.HasPrefix(name, "BANTIN_"):
			f.bad("%s: bantin reads no variable %s (only BANTIN_*)", owner, name)
		case !ok && helpNames(help.String(), name):
			// Not a flag but documented in the command's help: a secret
			// read only from the environment (BANTIN_LLM_API_KEY_FILE).
		case !ok:
			f.miss("%s: bantin %s has no flag for %s, and its help names no such variable", owner, cmd, name)
		case val == nil || fromArgs[fl]:
		default:
			if err := fs.Set(fl, *val); err != nil {
				f.bad("%s: %s=%q: bantin %s rejects it: %v", owner, name, *val, cmd, err)
			}
		}
	}

	if consumerRoles[cmd] {
		ackWait := bus.DefaultAckWait
		if fl := fs.Lookup("ack-wait"); fl != nil {
			ackWait = fl.Value.(flag.Getter).Get().(time.Duration)
		}
		grace := 30 * time.Second // Kubernetes' default
		if spec.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
		}
		if grace <= ackWait || grace <= drainGrace {
			f.bad("%s: terminationGracePeriodSeconds %s must exceed AckWait %s and the %s drain, or a killed pod's messages wait out AckWait", owner, grace, ackWait, drainGrace)
		}
	}
	checkParseMemory(f, owner, c, fs)
	if !long {
		return
	}
	checkProbes(f, owner, c, fs, served)
}

// workerMemory is what an ingest worker holds beside its extraction
// children: uploads in flight, the HTTP server, NATS client buffers.
const workerMemory = 256 << 20

// checkParseMemory checks that a container's memory limit holds its
// extraction children at their own limit: --parse-workers × (
// --max-parse-memory + extract.ChildRSSSlack) + workerMemory. Otherwise
// the kernel's OOM killer, not the pool, picks what dies, and it may be
// the worker with every upload in flight.
func checkParseMemory(f *findings, owner string, c *corev1.Container, fs *flag.FlagSet) {
	iso := fs.Lookup("isolate-parsing")
	if iso == nil || iso.Value.String() != "true" {
		return
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		return
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !set["parse-workers"] || !set["max-parse-memory"] {
		f.bad("%s: a memory limit of %s with --parse-workers or --max-parse-memory left at its default (the node's CPU count; 2 GiB a child): set BANTIN_PARSE_WORKERS and BANTIN_MAX_PARSE_MEMORY so the children fit", owner, limit.String())
		return
	}
	workers := fs.Lookup("parse-workers").Value.(flag.Getter).Get().(int)
	perChild := fs.Lookup("max-parse-memory").Value.(flag.Getter).Get().(int64)
	need := int64(workers)*(perChild+extract.ChildRSSSlack) + workerMemory
	if need > limit.Value() {
		f.bad("%s: memory limit %s is below %d extraction children × (%d MiB + %d MiB) + %d MiB for the worker = %d MiB: lower BANTIN_PARSE_WORKERS or BANTIN_MAX_PARSE_MEMORY, or raise the limit",
			owner, limit.String(), workers, perChild>>20, extract.ChildRSSSlack>>20, workerMemory>>20, need>>20)
	}
}

func checkProbes(f *findings, owner string, c *corev1.Container, fs *flag.FlagSet, served map[string]bool) {
	fl := fs.Lookup("http")
	if fl == nil {
		f.bad("%s: bantin %s serves no HTTP, so it cannot be probed", owner, c.Args[0])
		return
	}
	_, p, err := net.SplitHostPort(fl.Value.String())
	if err != nil {
		f.bad("%s: --http %q: %v", owner, fl.Value.String(), err)
		return
	}
	httpPort, _ := strconv.Atoi(p)
	if host, _, _ := net.SplitHostPort(fl.Value.String()); host == "127.0.0.1" || host == "localhost" {
		f.bad("%s: --http %s listens on loopback only; kubelet probes and Services cannot reach it", owner, fl.Value.String())
	}
	declared := false
	for _, cp := range c.Ports {
		if int(cp.ContainerPort) == httpPort {
			declared = true
		}
	}
	if !declared {
		f.bad("%s: the container does not declare port %d that --http listens on", owner, httpPort)
	}
	for kind, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			f.bad("%s: no %s HTTP probe", owner, kind)
			continue
		}
		if !served[pr.HTTPGet.Path] {
			f.bad("%s: %s probe path %s is not served by bantin", owner, kind, pr.HTTPGet.Path)
		}
		if kind == "liveness" && pr.HTTPGet.Path != "/healthz" {
			f.bad("%s: liveness must probe /healthz (the process), not %s: a NATS outage must not restart every pod", owner, pr.HTTPGet.Path)
		}
		port := pr.HTTPGet.Port.IntValue()
		if pr.HTTPGet.Port.StrVal != "" {
			port = 0
			for _, cp := range c.Ports {
				if cp.Name == pr.HTTPGet.Port.StrVal {
					port = int(cp.ContainerPort)
				}
			}
		}
		if port != httpPort {
			f.bad("%s: %s probe port %s is not the --http port %d", owner, kind, pr.HTTPGet.Port.String(), httpPort)
		}
	}
}

// podLabels are the pod template labels of every workload in the bundle.
func (b *bundle) podLabels() map[string]labels.Set {
	out := map[string]labels.Set{}
	for n, d := range b.deployments {
		out["Deployment/"+n] = d.Spec.Template.Labels
	}
	for n, s := range b.statefuls {
		out["StatefulSet/"+n] = s.Spec.Template.Labels
	}
	return out
}

func checkSelectors(f *findings, b *bundle) {
	pods := b.podLabels()
	matches := func(sel labels.Selector) []string {
		var hit []string
		for n, l := range pods {
			if sel.Matches(l) {
				hit = append(hit, n)
			}
		}
		return hit
	}
	for n, s := range b.services {
		if len(matches(labels.SelectorFromSet(s.Spec.Selector))) == 0 {
			f.bad("Service/%s selects no pods of the bundle (selector %v)", n, s.Spec.Selector)
		}
	}
	for _, p := range b.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || len(matches(sel)) == 0 {
			f.bad("PodDisruptionBudget/%s selects no pods of the bundle (%v)", p.Name, err)
		}
	}
	for n, d := range b.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			f.bad("Deployment/%s: selector does not match its pod labels (%v)", n, err)
		}
	}
}

func checkScalers(f *findings, b *bundle) {
	scaledBy := map[string]string{}
	for _, h := range b.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || b.deployments[ref.Name] == nil {
			f.bad("HorizontalPodAutoscaler/%s targets %s/%s, not a Deployment of the bundle", h.Name, ref.Kind, ref.Name)
			continue
		}
		scaledBy[ref.Name] += " HPA/" + h.Name
	}
	for _, so := range b.scaled {
		ref := so.Spec.ScaleTargetRef
		if ref == nil || (ref.Kind != "" && ref.Kind != "Deployment") || b.deployments[ref.Name] == nil {
			f.bad("ScaledObject/%s: scaleTargetRef %+v is not a Deployment of the bundle", so.Name, ref)
			continue
		}
		scaledBy[ref.Name] += " ScaledObject/" + so.Name
		if len(so.Spec.Triggers) == 0 {
			f.bad("ScaledObject/%s has no trigger", so.Name)
		}
		for i, tr := range so.Spec.Triggers {
			if tr.Type != "nats-jetstream" {
				f.bad("ScaledObject/%s trigger %d: type %q; bantin's queues scale on nats-jetstream", so.Name, i, tr.Type)
				continue
			}
			for _, k := range []string{"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold", "activationLagThreshold"} {
				if tr.Metadata[k] == "" {
					f.bad("ScaledObject/%s trigger %d lacks metadata %s (KEDA's CRD does not check it)", so.Name, i, k)
				}
			}
			checkMonitoringEndpoint(f, b, so, tr.Metadata["natsServerMonitoringEndpoint"])
		}
	}
	for name, by := range scaledBy {
		if strings.Count(by, "/") > 1 {
			f.bad("Deployment/%s has more than one autoscaler:%s", name, by)
		}
		if d := b.deployments[name]; d.Spec.Replicas != nil {
			f.bad("Deployment/%s sets replicas although%s scales it: every apply would reset the scale", name, by)
		}
	}
}

// checkMonitoringEndpoint wants the headless NATS Service of the bundle,
// in the ScaledObject's namespace, on the monitoring port: KEDA must reach
// every node of a cluster.
func checkMonitoringEndpoint(f *findings, b *bundle, so *kedav1alpha1.ScaledObject, ep string) {
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		f.bad("ScaledObject/%s: natsServerMonitoringEndpoint %q is not host:port: %v", so.Name, ep, err)
		return
	}
	parts := strings.Split(host, ".")
	svc := b.services[parts[0]]
	if svc == nil {
		f.bad("ScaledObject/%s: natsServerMonitoringEndpoint %s names no Service of the bundle", so.Name, ep)
		return
	}
	if len(parts) > 1 && parts[1] != so.Namespace {
		f.bad("ScaledObject/%s: natsServerMonitoringEndpoint %s is in namespace %q, the bundle in %q", so.Name, ep, parts[1], so.Namespace)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		f.bad("ScaledObject/%s: Service %s is not headless; KEDA must reach every NATS node of the cluster", so.Name, svc.Name)
	}
	found := false
	for _, p := range svc.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == port {
			found = true
		}
	}
	if !found {
		f.bad("ScaledObject/%s: Service %s has no port %s", so.Name, svc.Name, port)
	}
}

// helpNames reports whether help text mentions the variable name as a word.
func helpNames(help, name string) bool {
	words := strings.FieldsFunc(help, func(r rune) bool {
		return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	return slices.Contains(words, name)
}
