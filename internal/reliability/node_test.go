package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// nodeEnv names the environment variable that turns the test binary into
// one nats-server node of a cluster test: TestMain sees it, runs the node
// its value (a JSON nodeSpec) describes and never runs the tests.
const nodeEnv = "BANTIN_TEST_NATS_NODE"

// nodeSpec is what a node process needs: its name, its ports (kept across
// restarts, since the other nodes' routes name them), its store and log.
type nodeSpec struct {
	Name        string   `json:"name"`
	Cluster     string   `json:"cluster"`
	Port        int      `json:"port"`
	ClusterPort int      `json:"cluster_port"`
	HTTPPort    int      `json:"http_port"`
	StoreDir    string   `json:"store_dir"`
	LogFile     string   `json:"log_file"`
	Routes      []string `json:"routes"`
}

// TestMain runs the tests, or, with BANTIN_TEST_NATS_NODE set, one NATS
// node for the cluster test (the test binary re-executing itself, so that
// the test can SIGKILL a node without a separate binary).
func TestMain(m *testing.M) {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNode(spec))
	}
	os.Exit(m.Run())
}

// runNode runs an embedded nats-server as spec says, prints "ready" on
// stdout once it takes connections, and shuts it down gracefully when
// stdin closes (the test stopping it, or the test process gone).
func runNode(spec string) int {
	var n nodeSpec
	if err := json.Unmarshal([]byte(spec), &n); err != nil {
		fmt.Fprintf(os.Stderr, "%s is not a node spec: %v\n", nodeEnv, err)
		return 2
	}
	var routes []string
	for _, p := range n.Routes {
		routes = append(routes, "nats://"+p)
	}
	o := &server.Options{
		ServerName: n.Name,
		Host:       "127.0.0.1",
		Port:       n.Port,
		HTTPHost:   "127.0.0.1",
		HTTPPort:   n.HTTPPort,
		JetStream:  true,
		StoreDir:   n.StoreDir,
		NoSigs:     true,
		LogFile:    n.LogFile,
		Logtime:    true,
		Cluster:    server.ClusterOpts{Name: n.Cluster, Host: "127.0.0.1", Port: n.ClusterPort},
		Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
	}
	s, err := server.NewServer(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "node %s: %v\n", n.Name, err)
		return 1
	}
	s.ConfigureLogger()
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		fmt.Fprintf(os.Stderr, "node %s: not taking connections after 30s (see %s)\n", n.Name, n.LogFile)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}

// procCluster is a JetStream cluster whose nodes are child processes of the
// test binary on loopback, each with fixed ports and a store of its own, so
// that a node can be SIGKILLed and brought back as it was.
type procCluster struct {
	t     *testing.T
	dir   string
	nodes []*procNode
}

// procNode is one node of a procCluster and its current process.
type procNode struct {
	spec  nodeSpec
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed once the process has exited
	stats nodeStats
}

// nodeStats are what the test keeps of a node's past processes.
type nodeStats struct {
	peakRSSMiB float64 // the largest VmHWM seen of any of its processes
}

// startProcCluster starts n node processes and waits until each takes
// connections. Ports are picked free at the start; should one be taken
// before its node binds it, the whole cluster starts again on new ports.
func startProcCluster(t *testing.T, n int) *procCluster {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	var lastErr error
	for attempt := range 3 {
		c := &procCluster{t: t, dir: t.TempDir()}
		ports := freePorts(t, 3*n)
		var routes []string
		for i := range n {
			routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[3*i+1]))
		}
		for i := range n {
			name := fmt.Sprintf("n%d", i+1)
			c.nodes = append(c.nodes, &procNode{spec: nodeSpec{
				Name: name, Cluster: "bantin-test",
				Port: ports[3*i], ClusterPort: ports[3*i+1], HTTPPort: ports[3*i+2],
				StoreDir: filepath.Join(c.dir, name), LogFile: filepath.Join(c.dir, name+".log"),
				Routes: routes,
			}})
		}
		lastErr = nil
		for i := range n {
			if err := c.start(exe, i); err != nil {
				lastErr = err
				break
			}
		}
		if lastErr == nil {
			t.Cleanup(func() {
				if t.Failed() {
					c.logTails(40)
				}
				for i := range c.nodes {
					c.stop(i)
				}
			})
			return c
		}
		t.Logf("starting the cluster (attempt %d): %v", attempt+1, lastErr)
		for i := range c.nodes {
			c.stop(i)
		}
	}
	t.Fatalf("starting a %d-node cluster: %v", n, lastErr)
	return nil
}

// start runs node i's process and waits until it takes connections.
func (c *procCluster) start(exe string, i int) error {
	nd := c.nodes[i]
	spec, err := json.Marshal(nd.spec)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(spec))
	stderr, err := os.OpenFile(filepath.Join(c.dir, nd.spec.Name+".stderr"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close() // the child has its own copy
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting node %s: %w", nd.spec.Name, err)
	}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	nd.cmd, nd.stdin, nd.done = cmd, stdin, done
	select {
	case <-ready:
		return nil
	case <-done:
		return fmt.Errorf("node %s exited on start (%s): %s", nd.spec.Name, cmd.ProcessState, c.tail(i, 5))
	case <-time.After(45 * time.Second):
		c.kill(i)
		return fmt.Errorf("node %s not ready within 45s: %s", nd.spec.Name, c.tail(i, 5))
	}
}

// restart brings node i back on its ports and store.
func (c *procCluster) restart(i int) {
	c.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.start(exe, i); err != nil {
		c.t.Fatalf("restarting node %s: %v", c.nodes[i].spec.Name, err)
	}
}

// kill SIGKILLs node i's process and waits until it is gone.
func (c *procCluster) kill(i int) {
	nd := c.nodes[i]
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	c.notePeakRSS(i)
	_ = nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.done
}

// stop closes node i's stdin, which shuts it down gracefully, and kills it
// if it is still there after 15s.
func (c *procCluster) stop(i int) {
	nd := c.nodes[i]
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	c.notePeakRSS(i)
	_ = nd.stdin.Close()
	select {
	case <-nd.done:
	case <-time.After(15 * time.Second):
		c.t.Logf("node %s still up 15s after being asked to stop; killing it", nd.spec.Name)
		_ = nd.cmd.Process.Kill()
		<-nd.done
	}
}

// notePeakRSS keeps the high-water mark of node i's running process.
func (c *procCluster) notePeakRSS(i int) {
	nd := c.nodes[i]
	select {
	case <-nd.done:
		return
	default:
	}
	if m := peakRSSMiB(fmt.Sprint(nd.cmd.Process.Pid)); m > nd.stats.peakRSSMiB {
		nd.stats.peakRSSMiB = m
	}
}

// peakRSSMiB is the largest resident memory of any node process so far.
func (c *procCluster) peakRSSMiB() float64 {
	var peak float64
	for i, nd := range c.nodes {
		c.notePeakRSS(i)
		peak = max(peak, nd.stats.peakRSSMiB)
	}
	return peak
}

// urls is the client URL list of the whole cluster.
func (c *procCluster) urls() string {
	var us []string
	for _, nd := range c.nodes {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", nd.spec.Port))
	}
	return strings.Join(us, ",")
}

// index is the node named name, or -1.
func (c *procCluster) index(name string) int {
	for i, nd := range c.nodes {
		if nd.spec.Name == name {
			return i
		}
	}
	return -1
}

// streamState is the part of a stream's state the test compares between
// nodes.
type streamState struct {
	Msgs     uint64 `json:"messages"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

func (s streamState) String() string {
	return fmt.Sprintf("%d msgs, seq %d..%d", s.Msgs, s.FirstSeq, s.LastSeq)
}

// jszStream is a stream's entry in /jsz: its state and, as the node
// sees it, its leader and (on the leader) how current the followers are.
type jszStream struct {
	Name    string      `json:"name"`
	State   streamState `json:"state"`
	Cluster *struct {
		Leader   string `json:"leader"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"cluster"`
}

// jsz is the part of /jsz the test reads.
type jsz struct {
	Meta *struct {
		Leader string `json:"leader"`
	} `json:"meta_cluster"`
	Accounts []struct {
		Streams []jszStream `json:"stream_detail"`
	} `json:"account_details"`
}

// jsz reads node i's /jsz with its streams, from its monitoring port.
func (c *procCluster) jsz(ctx context.Context, i int) (*jsz, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/jsz?accounts=true&streams=true", c.nodes[i].spec.HTTPPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading /jsz of %s: %w", c.nodes[i].spec.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading /jsz of %s: %s", c.nodes[i].spec.Name, resp.Status)
	}
	var j jsz
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return nil, fmt.Errorf("decoding /jsz of %s: %w", c.nodes[i].spec.Name, err)
	}
	return &j, nil
}

// streams is every stream as node i's /jsz shows it, by name.
func (c *procCluster) streams(ctx context.Context, i int) (map[string]jszStream, error) {
	j, err := c.jsz(ctx, i)
	if err != nil {
		return nil, err
	}
	out := map[string]jszStream{}
	for _, a := range j.Accounts {
		for _, s := range a.Streams {
			out[s.Name] = s
		}
	}
	return out, nil
}

// streamLeader is the node that, by its own /jsz, leads stream; "" while
// none does. A node's monitoring port answers without the cluster, so this
// sees an election as soon as the winner knows it.
func (c *procCluster) streamLeader(ctx context.Context, stream string) string {
	for i, nd := range c.nodes {
		ss, err := c.streams(ctx, i)
		if err != nil {
			continue
		}
		if s, ok := ss[stream]; ok && s.Cluster != nil && s.Cluster.Leader == nd.spec.Name {
			return nd.spec.Name
		}
	}
	return ""
}

// notCurrent lists the streams among names in which node i is neither
// the leader nor a current follower, by the leaders' /jsz.
func (c *procCluster) notCurrent(ctx context.Context, i int, names []string) []string {
	name := c.nodes[i].spec.Name
	all := make([]map[string]jszStream, len(c.nodes))
	for k := range c.nodes {
		all[k], _ = c.streams(ctx, k) // a node that does not answer leads nothing
	}
	var out []string
	for _, stream := range names {
		ok := false
		for k, nd := range c.nodes {
			s, found := all[k][stream]
			if !found || s.Cluster == nil || s.Cluster.Leader != nd.spec.Name {
				continue
			}
			if nd.spec.Name == name {
				ok = true
			}
			for _, r := range s.Cluster.Replicas {
				if r.Name == name && r.Current && !r.Offline {
					ok = true
				}
			}
		}
		if !ok {
			out = append(out, stream)
		}
	}
	return out
}

// metaLeader is the JetStream meta leader as the first answering node
// sees it; "" while there is none.
func (c *procCluster) metaLeader(ctx context.Context) string {
	for i := range c.nodes {
		if j, err := c.jsz(ctx, i); err == nil && j.Meta != nil && j.Meta.Leader != "" {
			return j.Meta.Leader
		}
	}
	return ""
}

// tail is the last n lines of node i's log and stderr.
func (c *procCluster) tail(i, n int) string {
	var out []string
	for _, f := range []string{c.nodes[i].spec.LogFile, filepath.Join(c.dir, c.nodes[i].spec.Name+".stderr")} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		out = append(out, lines[max(0, len(lines)-n):]...)
	}
	return strings.Join(out, "\n")
}

// logTails logs the end of every node's log.
func (c *procCluster) logTails(n int) {
	for i, nd := range c.nodes {
		c.t.Logf("node %s, last lines of its log:\n%s", nd.spec.Name, c.tail(i, n))
	}
}
