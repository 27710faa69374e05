package reliability

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/publish"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

// TestClusterLeaderLoss pushes reports through ingest, summarize and publish
// on a three-node JetStream cluster with R3 streams, each node a child
// process on loopback. In the middle it SIGKILLs the node leading REPORTS,
// and once a new leader has digests flowing again it restarts the node on
// its store and ports. Every report must come out as exactly one digest: on
// DIGESTS, in the feed and in the webhook; the restarted node must catch
// up, ending with the same state of every replicated stream as the others.
func TestClusterLeaderLoss(t *testing.T) {
	n := reportCount(1000, 200)
	log := testLog()
	cl := startProcCluster(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !waitFor(30*time.Second, func() bool { return cl.metaLeader(ctx) != "" }) {
		t.Fatal("no JetStream meta leader within 30s")
	}

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
	// streamInfo asks for a stream's info, giving up after 500ms: a request
	// may go unanswered while the cluster elects leaders, and the polls
	// that time the recovery ask again at once.
	streamInfo := func(name string) (*jetstream.StreamInfo, error) {
		cctx, ccancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer ccancel()
		s, err := bCheck.JS.Stream(cctx, name)
		if err != nil {
			return nil, err
		}
		return s.CachedInfo(), nil
	}
	for _, name := range []string{model.StreamReports, model.StreamDigests} {
		info, err := streamInfo(name)
		if err != nil {
			t.Fatal(err)
		}
		if r := info.Config.Replicas; r != 3 {
			t.Fatalf("%s has %d replicas, want 3", name, r)
		}
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
	// The replicated streams (the roles' buckets included), whose state the
	// restarted node must catch up on.
	r3, err := replicatedStreams(ctx, bCheck)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{model.StreamReports, model.StreamDigests} {
		if !slices.Contains(r3, name) {
			t.Fatalf("%s is not among the R3 streams %v", name, r3)
		}
	}

	// Push the reports with four uploaders; a publish that fails while the
	// cluster elects a leader is retried with the same bytes (same id).
	start := time.Now()
	up := &uploads{n: n, workers: 4, runID: fmt.Sprintf("cluster-%d", start.UnixNano()), site: "cluster.test",
		retryDelay: 100 * time.Millisecond, maxRetries: 300}
	up.start(ctx, t, ing)

	digestsOut := func() int {
		i, err := streamInfo(model.StreamDigests)
		if err != nil {
			return -1
		}
		return int(i.State.Msgs)
	}
	reportsLeader := func() string {
		i, err := streamInfo(model.StreamReports)
		if err != nil || i.Cluster == nil {
			return ""
		}
		return i.Cluster.Leader
	}

	// Once a third of the digests are out, SIGKILL the node leading REPORTS.
	if !waitFor(2*time.Minute, func() bool { return digestsOut() >= n/3 }) {
		t.Fatalf("only %d digests before the fault", digestsOut())
	}
	var leader string
	waitFor(30*time.Second, func() bool { leader = reportsLeader(); return leader != "" })
	victim := cl.index(leader)
	if victim < 0 {
		t.Fatalf("REPORTS leader %q is none of the nodes", leader)
	}
	metaLeader := cl.metaLeader(ctx)
	var atKill int
	waitFor(30*time.Second, func() bool { atKill = digestsOut(); return atKill >= 0 })
	killedAt := time.Now()
	cl.kill(victim)
	t.Logf("SIGKILLed %s (REPORTS leader; meta leader %s) at %d digests", leader, metaLeader, atKill)

	// Recovery: a node declares itself REPORTS leader (by its /jsz), then
	// digests come out again.
	var newLeader string
	if !pollEvery(time.Minute, 20*time.Millisecond, func() bool {
		newLeader = cl.streamLeader(ctx, model.StreamReports)
		return newLeader != "" && newLeader != leader
	}) {
		t.Fatalf("REPORTS without a new leader a minute after %s was killed", leader)
	}
	toLeader := time.Since(killedAt)
	if !pollEvery(time.Minute, 20*time.Millisecond, func() bool { return digestsOut() > atKill }) {
		t.Fatalf("no digest within a minute of losing %s (still %d)", leader, digestsOut())
	}
	toFlowing := time.Since(killedAt)
	t.Logf("new REPORTS leader %s after %s, digests flowing again after %s", newLeader, toLeader.Round(time.Millisecond), toFlowing.Round(time.Millisecond))

	// Let the cluster go on without the node for a tenth of the reports, so
	// that it has something to catch up on, then bring it back.
	missed := min(atKill+n/10, n)
	if !waitFor(time.Minute, func() bool { return digestsOut() >= missed }) {
		t.Fatalf("only %d digests with %s down, want %d", digestsOut(), leader, missed)
	}
	atRestart := digestsOut()
	restartedAt := time.Now()
	cl.restart(victim)
	toReady := time.Since(restartedAt)

	// Catch-up: in every R3 stream the restarted node leads or is a current
	// follower, by the stream leaders' /jsz.
	var behind []string
	if !pollEvery(time.Minute, 20*time.Millisecond, func() bool { behind = cl.notCurrent(ctx, victim, r3); return len(behind) == 0 }) {
		t.Fatalf("%s not current a minute after its restart on: %s", leader, strings.Join(behind, ", "))
	}
	toCurrent := time.Since(restartedAt)
	t.Logf("restarted %s at %d digests: taking connections after %s, current on %d R3 streams (%s) after %s",
		leader, atRestart, toReady.Round(time.Millisecond), len(r3), strings.Join(r3, ", "), toCurrent.Round(time.Millisecond))

	up.wait()
	if !waitFor(2*time.Minute, func() bool { return digestsOut() >= n }) {
		t.Fatalf("%d of %d digests after 2 minutes", digestsOut(), n)
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
	feedDups := 0
	for id, c := range feed {
		if c > 1 {
			feedDups += c - 1
		}
		if perID[id] == 0 {
			t.Errorf("feed item %s is no digest on DIGESTS", id)
		}
	}
	if len(feed) != n || feedDups != 0 {
		t.Errorf("feed has %d distinct digests (%d duplicates), want %d once each", len(feed), feedDups, n)
	}
	var hookTotal, hookDistinct, hookDups int
	// The push consumer's AckWait (5 s) and the pusher's retries of NATS
	// calls (~25 s) bound how late a push lost in the failover comes. A
	// slow wait logs why, every 10s.
	hooksFrom := time.Now()
	lastNote := hooksFrom
	waitFor(150*time.Second, func() bool {
		hookTotal, hookDistinct, hookDups = hooks.counts()
		if hookDistinct < n && time.Since(lastNote) >= 10*time.Second {
			lastNote = time.Now()
			t.Logf("webhook: %d of %d digests after %s; %s", hookDistinct, n, time.Since(hooksFrom).Round(time.Second), pushState(ctx, bCheck))
		}
		return hookDistinct >= n
	})
	// From the last digest stored to the last push received.
	var hookLag time.Duration
	if st, err := bCheck.JS.Stream(ctx, model.StreamDigests); err != nil {
		t.Errorf("reading DIGESTS: %v", err)
	} else if info, err := st.Info(ctx); err != nil {
		t.Errorf("reading DIGESTS: %v", err)
	} else {
		hookLag = max(hooks.lastPush().Sub(info.State.LastTime), 0)
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

	// The restarted node holds what the others hold: every R3 stream in the
	// same state on all three nodes, by their /jsz.
	states := make([]map[string]streamState, len(cl.nodes))
	same := func() bool {
		for i := range cl.nodes {
			s, err := cl.streams(ctx, i)
			if err != nil {
				return false
			}
			states[i] = map[string]streamState{}
			for _, name := range r3 {
				if st, ok := s[name]; ok {
					states[i][name] = st.State
				}
			}
		}
		for i := range states {
			if len(states[i]) != len(r3) || !maps.Equal(states[i], states[0]) {
				return false
			}
		}
		return true
	}
	if !waitFor(30*time.Second, same) {
		for i, nd := range cl.nodes {
			t.Errorf("node %s streams: %v", nd.spec.Name, states[i])
		}
		t.Errorf("the nodes' streams differ 30s after the load")
	} else if got := states[victim][model.StreamDigests]; got.Msgs != uint64(n) {
		t.Errorf("restarted %s holds %s of DIGESTS, want %d messages", leader, got, n)
	}

	record(t, figures{Scenario: "cluster: REPORTS leader's node SIGKILLed and restarted", ReportsIn: n, DigestsOut: len(perID),
		Duplicates: dups + feedDups + hookDups, Losses: losses, RecoveryS: toFlowing.Seconds(), NewLeaderS: toLeader.Seconds(),
		CatchUpS: toCurrent.Seconds(), TotalS: total.Seconds(), PeakRSSMiB: peakRSSMiB("self"),
		Note: fmt.Sprintf("3 node processes, R3; SIGKILLed %s (REPORTS leader, meta leader %s) at %d digests; new leader %s; restarted at %d digests, ready in %.2fs, current on %d R3 streams; %d upload retries; feed %d; webhook %d/%d, last push %.1fs after the last digest; node peak RSS %.0f MiB",
			leader, metaLeader, atKill, newLeader, atRestart, toReady.Seconds(), len(r3), up.retries.Load(), len(feed), hookTotal, hookDistinct, hookLag.Seconds(), cl.peakRSSMiB())})
	cancel()
	wg.Wait()
}

// replicatedStreams lists the streams with three replicas, asking again
// while the cluster does not answer.
func replicatedStreams(ctx context.Context, b *bus.Bus) ([]string, error) {
	var err error
	for range 10 {
		var out []string
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l := b.JS.ListStreams(cctx)
		for i := range l.Info() {
			if i.Config.Replicas == 3 {
				out = append(out, i.Config.Name)
			}
		}
		err = l.Err()
		cancel()
		if err == nil {
			slices.Sort(out)
			return out, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil, fmt.Errorf("listing the streams: %w", err)
}

// pushState describes the publish push consumer, for a slow webhook wait.
func pushState(ctx context.Context, b *bus.Bus) string {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := b.JS.Consumer(cctx, model.StreamDigests, publish.ConsumerPush)
	if err != nil {
		return fmt.Sprintf("push consumer: %v", err)
	}
	i := c.CachedInfo()
	leader := ""
	if i.Cluster != nil {
		leader = i.Cluster.Leader
	}
	return fmt.Sprintf("push consumer (leader %s): pending %d, ack pending %d, redelivered %d, waiting pulls %d, delivered up to %d, acked up to %d",
		leader, i.NumPending, i.NumAckPending, i.NumRedelivered, i.NumWaiting, i.Delivered.Stream, i.AckFloor.Stream)
}
