package reliability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/publish"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

// cluster is a JetStream cluster of in-process nats-servers on loopback.
type cluster struct {
	t     *testing.T
	mu    sync.Mutex
	opts  []*server.Options
	nodes []*server.Server
}

// startCluster starts n servers with fixed ports, so a node can be
// brought back on the same addresses and store.
func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{t: t}
	var routes []string
	clusterAddrs := make([]string, n)
	for i := range n {
		clusterAddrs[i] = freeAddr(t)
		routes = append(routes, "nats://"+clusterAddrs[i])
	}
	base := t.TempDir()
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       portOf(t, freeAddr(t)),
			JetStream:  true,
			StoreDir:   filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			NoSigs:     true,
			NoLog:      true,
			Cluster: server.ClusterOpts{
				Name: "bantin-test",
				Host: "127.0.0.1",
				Port: portOf(t, clusterAddrs[i]),
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		}
		c.opts = append(c.opts, o)
		c.nodes = append(c.nodes, nil)
	}
	for i := range n {
		c.start(i)
	}
	for i := range n {
		if !c.nodes[i].ReadyForConnections(20 * time.Second) {
			t.Fatalf("node %d not ready", i+1)
		}
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	return c
}

func (c *cluster) start(i int) {
	o := c.opts[i].Clone()
	s, err := server.NewServer(o)
	if err != nil {
		c.t.Fatalf("node %d: %v", i+1, err)
	}
	go s.Start()
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
}

func (c *cluster) stop(i int) {
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

func (c *cluster) urls() string {
	var us []string
	for _, o := range c.opts {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(us, ",")
}

func (c *cluster) index(name string) int {
	for i, o := range c.opts {
		if o.ServerName == name {
			return i
		}
	}
	return -1
}

// waitJetStream waits until the cluster has a meta leader.
func (c *cluster) waitJetStream() {
	if !waitFor(30*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.nodes {
			if s != nil && s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	}) {
		c.t.Fatal("no JetStream meta leader within 30s")
	}
}

// TestClusterLeaderLoss pushes reports through ingest, summarize and publish
// on a three-node JetStream cluster with R3 streams, kills the node leading
// REPORTS in the middle and brings it back. Every report must come out as
// exactly one digest: on DIGESTS, in the feed and in the webhook.
func TestClusterLeaderLoss(t *testing.T) {
	n := reportCount(1000, 200)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BANTIN_RELIABILITY_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cl := startCluster(t, 3)
	cl.waitJetStream()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	topo := bus.Topology{Replicas: 3, AckWait: 10 * time.Second, MaxDeliver: 20}
	connect := func(name string) *bus.Bus {
		var b *bus.Bus
		var err error
		// The cluster may still be electing stream leaders.
		for range 30 {
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			b, err = bus.ConnectWith(cctx, cl.urls(), bus.ConnectOptions{Name: name, ReconnectWait: 100 * time.Millisecond}, topo, log)
			ccancel()
			if err == nil {
				return b
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("connecting %s: %v", name, err)
		return nil
	}
	bIngest, bSum, bPub, bCheck := connect("ingest"), connect("summarize"), connect("publish"), connect("check")
	for _, b := range []*bus.Bus{bIngest, bSum, bPub, bCheck} {
		defer b.Close()
	}
	info, err := bCheck.JS.Stream(ctx, model.StreamReports)
	if err != nil {
		t.Fatal(err)
	}
	if r := info.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("REPORTS has %d replicas, want 3", r)
	}

	hooks := &hookReceiver{seen: map[string]int{}}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()

	ing, err := ingest.New(ingest.Config{AllowPrivateNetworks: true}, ingest.Deps{Bus: bIngest, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := summarize.New(summarize.Config{Concurrency: 4}, summarize.Deps{Bus: bSum, Summarizer: extractive.New(extractive.Config{}), Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	pubMux := http.NewServeMux()
	pubSrv := httptest.NewServer(pubMux)
	defer pubSrv.Close()
	pub, err := publish.New(publish.Config{BaseURL: pubSrv.URL, MaxEntries: n + 100,
		Webhooks: []publish.Webhook{{Name: "newsroom", URL: hookSrv.URL}}}, publish.Deps{Bus: bPub, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pub.Register(pubMux)

	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{sum.Run, pub.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("role stopped: %v", err)
			}
		}()
	}

	if !waitFor(time.Minute, func() bool { return sum.Ready(ctx) == nil && pub.Ready(ctx) == nil }) {
		t.Fatalf("roles not ready: summarize %v, publish %v", sum.Ready(ctx), pub.Ready(ctx))
	}
	// Push the reports with four uploaders; a publish that fails while the
	// cluster elects a leader is retried with the same bytes (same id).
	start := time.Now()
	up := &uploads{n: n, workers: 4, runID: fmt.Sprintf("cluster-%d", start.UnixNano()), site: "cluster.test",
		retryDelay: 100 * time.Millisecond, maxRetries: 200}
	up.start(ctx, t, ing)

	// Once a third of the digests are out, kill the node leading REPORTS.
	digestsOut := func() int {
		s, err := bCheck.JS.Stream(ctx, model.StreamDigests)
		if err != nil {
			return -1
		}
		i, err := s.Info(ctx)
		if err != nil {
			return -1
		}
		return int(i.State.Msgs)
	}
	if !waitFor(2*time.Minute, func() bool { return digestsOut() >= n/3 }) {
		t.Fatalf("only %d digests before the fault", digestsOut())
	}
	rs, err := bCheck.JS.Stream(ctx, model.StreamReports)
	if err != nil {
		t.Fatal(err)
	}
	ri, err := rs.Info(ctx)
	if err != nil || ri.Cluster == nil || ri.Cluster.Leader == "" {
		t.Fatalf("REPORTS has no leader: %+v %v", ri, err)
	}
	leader := ri.Cluster.Leader
	victim := cl.index(leader)
	atKill := digestsOut()
	killedAt := time.Now()
	cl.stop(victim)
	t.Logf("killed %s (REPORTS leader) at %d digests", leader, atKill)

	// Recovery: REPORTS has a new leader and digests come out again.
	var recovery time.Duration
	if waitFor(time.Minute, func() bool {
		i, err := rs.Info(ctx)
		return err == nil && i.Cluster != nil && i.Cluster.Leader != "" && i.Cluster.Leader != leader && digestsOut() > atKill
	}) {
		recovery = time.Since(killedAt)
	} else {
		t.Errorf("REPORTS without a new leader or no digest within a minute of losing its leader")
	}
	time.Sleep(2 * time.Second)
	cl.start(victim)
	t.Logf("restarted %s after %s", leader, time.Since(killedAt).Round(time.Millisecond))

	up.wait()
	if !waitFor(3*time.Minute, func() bool { return digestsOut() >= n }) {
		t.Errorf("%d of %d digests after 3 minutes", digestsOut(), n)
	}
	// Let any redelivery that would double a digest happen before counting.
	waitFor(15*time.Second, func() bool {
		c, err := bCheck.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	total := time.Since(start)

	msgs, perID := digestCounts(ctx, t, bCheck)
	dups := msgs - len(perID)
	losses := n - len(perID)
	if dups != 0 || losses != 0 || msgs != n {
		t.Errorf("DIGESTS: %d messages for %d distinct digests from %d reports (duplicates %d, losses %d)", msgs, len(perID), n, dups, losses)
	}
	var feed map[string]int
	waitFor(30*time.Second, func() bool { feed = feedIDs(t, pubSrv.URL, n+100); return len(feed) >= n })
	if len(feed) != n {
		t.Errorf("feed has %d distinct digests, want %d", len(feed), n)
	}
	var hookTotal, hookDistinct, hookDups int
	// The pusher's own AckWait (2 min) bounds how late a push whose ack
	// was lost in the failover comes.
	hooksFrom := time.Now()
	waitFor(150*time.Second, func() bool { hookTotal, hookDistinct, hookDups = hooks.counts(); return hookDistinct >= n })
	hookLag := time.Since(hooksFrom)
	if pc, err := bCheck.JS.Consumer(ctx, model.StreamDigests, publish.ConsumerPush); err == nil {
		if pi, err := pc.Info(ctx); err == nil {
			t.Logf("push consumer: pending %d, ack pending %d, redelivered %d, delivered %d/%d, leader %v", pi.NumPending, pi.NumAckPending, pi.NumRedelivered, pi.Delivered.Stream, pi.AckFloor.Stream, pi.Cluster)
		}
	}
	if hookDistinct != n || hookDups != 0 {
		t.Errorf("webhook: %d deliveries of %d digests (%d duplicates), want %d once each", hookTotal, hookDistinct, hookDups, n)
	}
	dlq, err := bCheck.ListDead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dlq) != 0 {
		t.Errorf("%d dead letters, want none: %+v", len(dlq), dlq[0].Letter)
	}
	record(t, figures{Scenario: "cluster: REPORTS leader killed and restarted", ReportsIn: n, DigestsOut: len(perID),
		Duplicates: dups + hookDups, Losses: losses, RecoveryS: recovery.Seconds(), TotalS: total.Seconds(),
		PeakRSSMiB: peakRSSMiB("self"),
		Note:       fmt.Sprintf("3 nodes in-process, R3; killed %s at %d digests; %d upload retries; webhook %d/%d, last push %.1fs after the last digest", leader, atKill, up.retries.Load(), hookTotal, hookDistinct, hookLag.Seconds())})
	cancel()
	wg.Wait()
}
