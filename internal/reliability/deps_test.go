package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/llm"
)

// testLog is the log of the in-process roles: silent unless
// BANTIN_RELIABILITY_DEBUG is set.
func testLog() *slog.Logger {
	if os.Getenv("BANTIN_RELIABILITY_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// checkGoroutines registers, as the test's last cleanup, a check that the
// goroutines the test started are gone once everything else is torn down.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		// Idle HTTP connections and timers wind down within a few seconds.
		const slack = 8
		var now int
		waitFor(10*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before+slack })
		t.Logf("goroutines: %d before, %d after", before, now)
		if now > before+slack {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines after the test, %d before: leaked\n%s", now, before, buf)
		}
	})
}

// embeddedNATS starts a single nats-server on a fixed address and store
// directory, torn down at the end of the test.
func embeddedNATS(t *testing.T, addr, store string) *server.Server {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: store, Listen: addr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// connectBus connects to url with a short reconnect wait.
func connectBus(ctx context.Context, t *testing.T, url, name string, topo bus.Topology) *bus.Bus {
	t.Helper()
	b, err := bus.ConnectWith(ctx, url, bus.ConnectOptions{Name: name, ReconnectWait: 100 * time.Millisecond}, topo, testLog())
	if err != nil {
		t.Fatalf("connecting %s: %v", name, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// readDigests returns every digest on DIGESTS.
func readDigests(ctx context.Context, t *testing.T, b *bus.Bus) []model.Digest {
	t.Helper()
	s, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		t.Fatalf("opening DIGESTS: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []model.Digest
	for m := range batch.Messages() {
		var d model.Digest
		if err := json.Unmarshal(m.Data(), &d); err != nil {
			t.Fatalf("digest is not JSON: %v", err)
		}
		out = append(out, d)
	}
	if len(out) != n {
		t.Fatalf("read %d of %d digests", len(out), n)
	}
	return out
}

// streamMsgs is the message count of a stream, -1 when it cannot be had.
func streamMsgs(ctx context.Context, b *bus.Bus, name string) int {
	s, err := b.JS.Stream(ctx, name)
	if err != nil {
		return -1
	}
	i, err := s.Info(ctx)
	if err != nil {
		return -1
	}
	return int(i.State.Msgs)
}

// summarizeIdle reports whether the summarize consumer has nothing pending
// or in flight.
func summarizeIdle(ctx context.Context, b *bus.Bus) bool {
	c, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		return false
	}
	ci, err := c.Info(ctx)
	return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
}

// runRole runs a role's Run until the test ends.
func runRole(ctx context.Context, t *testing.T, wg *sync.WaitGroup, run func(context.Context) error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("role stopped: %v", err)
		}
	}()
}

// budgetSentence is the sentence of reportText with the budget figures, so
// a scripted LLM answer states only what the report says.
var budgetSentence = regexp.MustCompile(`Thu ngân sách nhà nước trên địa bàn đạt \d+ tỷ đồng, bằng \d+% dự toán được giao\.`)

// faithfulAnswer answers a digest request with the report's own budget
// sentence.
func faithfulAnswer(r llmtest.Request) llmtest.Reply {
	s := budgetSentence.FindString(r.Prompt())
	if s == "" {
		return llmtest.ServerError()
	}
	return llmtest.JSON(map[string]any{
		"headline": "Kết quả phát triển kinh tế - xã hội của huyện trong quý",
		"summary":  s,
		"bullets":  []map[string]any{{"text": s}},
		"figures":  []map[string]any{},
	})
}

// TestLLMOutage: the LLM endpoint answers 429, 500 or hangs for a stretch
// of wall time (minutes in production, outage here) while reports keep
// coming. With the fallback on, every report becomes one digest: the
// extractive one flagged needs_review during the outage, the LLM's after
// it. With --llm-no-fallback and MaxDeliver 2, a report either becomes a
// digest or a max_deliveries dead letter that a retry after the outage
// turns into one. Requests to the endpoint stay bounded (no hot loop).
func TestLLMOutage(t *testing.T) {
	outage := 8 * time.Second
	n := 40
	if testing.Short() {
		// Fewer reports, the same outage: 4 s was shorter than two
		// deliveries of 3 LLM attempts each, so -short never saw a
		// max_deliveries dead letter.
		n = 20
	}
	for _, tt := range []struct {
		name       string
		noFallback bool
		maxDeliver int
	}{
		{name: "fallback", maxDeliver: 5},
		{name: "no fallback, dead letters retried", noFallback: true, maxDeliver: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })

			var outageStart atomic.Int64
			var inOutage, afterOutage atomic.Int64
			srv := llmtest.New(func(r llmtest.Request) llmtest.Reply {
				if time.Since(time.Unix(0, outageStart.Load())) < outage {
					inOutage.Add(1)
					switch r.N % 3 {
					case 0:
						return llmtest.RateLimited(time.Second)
					case 1:
						return llmtest.ServerError()
					}
					return llmtest.Hang()
				}
				afterOutage.Add(1)
				return faithfulAnswer(r)
			}, llmtest.Options{})
			t.Cleanup(srv.Close)

			ns := embeddedNATS(t, "127.0.0.1:0", t.TempDir())
			t.Cleanup(ns.Shutdown)
			topo := bus.Topology{AckWait: 2 * time.Second, MaxDeliver: tt.maxDeliver}
			bIng := connectBus(ctx, t, ns.ClientURL(), "ingest", topo)
			bSum := connectBus(ctx, t, ns.ClientURL(), "summarize", topo)
			bCheck := connectBus(ctx, t, ns.ClientURL(), "check", topo)

			const attempts = 3
			be, err := llm.New(llm.Config{BaseURL: srv.URL(), Model: "outage-test", CallTimeout: time.Second, MaxAttempts: attempts,
				RetryBase: 50 * time.Millisecond, MaxRetryWait: time.Second, NoFallback: tt.noFallback},
				llm.Deps{Fallback: extractive.New(extractive.Config{}), Log: testLog()})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := summarize.New(summarize.Config{Concurrency: 4}, summarize.Deps{Bus: bSum, Summarizer: be, Log: testLog(), Registry: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: bIng, Log: testLog()})
			if err != nil {
				t.Fatal(err)
			}
			runRole(ctx, t, &wg, sum.Run)
			if !waitFor(30*time.Second, func() bool { return sum.Ready(ctx) == nil }) {
				t.Fatal("summarize not ready")
			}

			// Reports arrive steadily through the outage and a little after.
			start := time.Now()
			outageStart.Store(start.UnixNano())
			runID := fmt.Sprintf("llm-outage-%d", start.UnixNano())
			every := (outage + outage/4) / time.Duration(n)
			reports := map[string]bool{}
			for i := range n {
				res := ing.IngestBytes(ctx, reportText(runID, i), model.Source{Site: "llm.test", AttachmentName: fmt.Sprintf("bao-cao-%03d.txt", i)})
				if res.Outcome != ingest.OutcomeQueued {
					t.Fatalf("report %d: %+v", i, res)
				}
				reports[res.ReportID] = true
				time.Sleep(every)
			}

			settled := func() (int, int) {
				return streamMsgs(ctx, bCheck, model.StreamDigests), streamMsgs(ctx, bCheck, model.StreamDeadLetter)
			}
			if !waitFor(90*time.Second, func() bool {
				d, dl := settled()
				return d+dl >= n && summarizeIdle(ctx, bCheck)
			}) {
				d, dl := settled()
				t.Fatalf("after 90 s: %d digests + %d dead letters of %d reports", d, dl, n)
			}
			settledAt := time.Since(start)
			var retried int
			if tt.noFallback {
				dead, err := bCheck.ListDead(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range dead {
					if e.Letter.Reason != "max_deliveries" || !strings.Contains(e.Letter.Error, "outage-test") || !reports[e.Letter.ReportID] {
						t.Errorf("dead letter %d: reason %q, report %s, error %q; want max_deliveries naming the LLM", e.Seq, e.Letter.Reason, e.Letter.ReportID, e.Letter.Error)
					}
				}
				if d, _ := settled(); d+len(dead) != n {
					t.Errorf("%d digests + %d dead letters, want %d reports exactly", d, len(dead), n)
				}
				if len(dead) == 0 {
					t.Errorf("no dead letter: the outage (%s) should have outlasted two deliveries", outage)
				}
				// The endpoint is back: retry every dead letter.
				for _, e := range dead {
					if err := bCheck.Requeue(ctx, e); err != nil {
						t.Fatal(err)
					}
					if err := bCheck.RemoveDead(ctx, e); err != nil {
						t.Fatal(err)
					}
				}
				retried = len(dead)
				if !waitFor(60*time.Second, func() bool { d, _ := settled(); return d >= n && summarizeIdle(ctx, bCheck) }) {
					d, dl := settled()
					t.Fatalf("after the retry: %d digests, %d dead letters", d, dl)
				}
			}
			total := time.Since(start)

			digests := readDigests(ctx, t, bCheck)
			perReport := map[string]int{}
			var flagged, fromLLM int
			for _, d := range digests {
				perReport[d.ReportID]++
				switch {
				case d.NeedsReview && strings.Contains(d.ReviewReason, "unavailable"):
					flagged++
				case d.Backend == "llm:outage-test" && !d.NeedsReview:
					fromLLM++
				default:
					t.Errorf("digest %s: backend %q, needs_review %v (%s): neither the LLM's nor the flagged fallback", d.ID, d.Backend, d.NeedsReview, d.ReviewReason)
				}
			}
			dups, losses := len(digests)-len(perReport), 0
			for id := range reports {
				if perReport[id] == 0 {
					losses++
				}
			}
			if len(digests) != n || dups != 0 || losses != 0 {
				t.Errorf("%d digests of %d reports: %d duplicates, %d losses", len(digests), n, dups, losses)
			}
			if dl := streamMsgs(ctx, bCheck, model.StreamDeadLetter); dl != 0 {
				t.Errorf("%d dead letters left, want 0", dl)
			}
			if fromLLM == 0 {
				t.Errorf("no LLM digest after the outage")
			}
			if !tt.noFallback && flagged == 0 {
				t.Errorf("no flagged fallback digest during the outage")
			}
			// No hot loop: each delivery makes at most `attempts` calls,
			// and a report is delivered at most maxDeliver times (plus
			// once after a retry).
			reqs := srv.Count()
			if limit := n * attempts * (tt.maxDeliver + 1); reqs > limit {
				t.Errorf("the endpoint got %d requests for %d reports, more than %d: retrying in a hot loop", reqs, n, limit)
			}
			record(t, figures{Scenario: "LLM endpoint failing (429/500/hang) for " + outage.String() + ", " + tt.name, ReportsIn: n, DigestsOut: len(perReport),
				Duplicates: dups, Losses: losses, RecoveryS: settledAt.Seconds() - outage.Seconds(), TotalS: total.Seconds(), PeakRSSMiB: peakRSSMiB("self"),
				Note: fmt.Sprintf("%d LLM digests, %d flagged extractive; %d dead letters retried; %d requests (%d during the outage, %d after)",
					fromLLM, flagged, retried, reqs, inOutage.Load(), afterOutage.Load())})
		})
	}
}

// TestFailingSites: attachments on a site that is down, answers 503,
// drips one byte every 100 ms past the fetch timeout, or serves 50 MB of
// garbage (with and without Content-Length) each end as a dead letter
// with a clear reason; the 50 MB are not buffered (ingest allocates a few
// times the size cap, not 50 MB) and ingest keeps serving.
func TestFailingSites(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ns := embeddedNATS(t, "127.0.0.1:0", t.TempDir())
	t.Cleanup(ns.Shutdown)
	b := connectBus(ctx, t, ns.ClientURL(), "ingest", bus.Topology{})

	const capBytes = 1 << 20
	const garbage = 50 << 20
	var garbageSent atomic.Int64
	serveGarbage := func(w http.ResponseWriter, r *http.Request, declared bool) {
		w.Header().Set("Content-Type", "application/pdf")
		if declared {
			w.Header().Set("Content-Length", fmt.Sprint(garbage))
		}
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = byte(i*7 + 13)
		}
		for sent := 0; sent < garbage; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			garbageSent.Add(int64(len(chunk)))
		}
	}
	down := "http://" + freeAddr(t) // nothing listens there
	mux := http.NewServeMux()
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	files := []struct{ url, reason string }{
		{down + "/files/bao-cao-down.pdf", "fetch_failed"},
		{site.URL + "/files/bao-cao-503.pdf", "fetch_failed"},
		{site.URL + "/files/bao-cao-drip.pdf", "timeout"},
		{site.URL + "/files/bao-cao-garbage.pdf", "too_large"},
		{site.URL + "/files/bao-cao-garbage-declared.pdf", "too_large"},
	}
	var urls []string
	for _, f := range files {
		urls = append(urls, f.url)
	}
	mux.HandleFunc("/tin-tuc/ky-hop.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(articleHTML("Kỳ họp thứ 12 HĐND huyện", urls...))
	})
	mux.HandleFunc("/files/bao-cao-503.pdf", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/files/bao-cao-drip.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte{"%PDF-1.4 "[i%9]}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/files/bao-cao-garbage.pdf", func(w http.ResponseWriter, r *http.Request) { serveGarbage(w, r, false) })
	mux.HandleFunc("/files/bao-cao-garbage-declared.pdf", func(w http.ResponseWriter, r *http.Request) { serveGarbage(w, r, true) })

	ing, err := ingest.New(ingest.Config{AllowPrivateNetworks: true, FetchTimeout: time.Second, MaxFileSize: capBytes, HostRate: 1000, HostConcurrency: 8},
		ingest.Deps{Bus: b, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, err := ing.IngestURL(ctx, site.URL+"/tin-tuc/ky-hop.html")
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("the article page itself: %v", err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	got := map[string]ingest.Result{}
	for _, r := range res.Reports {
		got[r.URL] = r
	}
	for _, f := range files {
		r, ok := got[f.url]
		if !ok {
			t.Errorf("%s: not among the article's attachments %+v", f.url, res.Reports)
			continue
		}
		if r.Outcome != ingest.OutcomeDead || r.Reason != f.reason {
			t.Errorf("%s: outcome %s, reason %q (%s); want dead, %s", f.url, r.Outcome, r.Reason, r.Error, f.reason)
		}
	}
	dead, err := b.ListDead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range dead {
		reasons[e.Letter.Source.AttachmentURL] = e.Letter.Reason
		if e.Letter.Error == "" {
			t.Errorf("dead letter %d has no error text", e.Seq)
		}
	}
	for _, f := range files {
		if reasons[f.url] != f.reason {
			t.Errorf("dead letter for %s: reason %q, want %s", f.url, reasons[f.url], f.reason)
		}
	}
	if len(dead) != len(files) {
		t.Errorf("%d dead letters, want %d", len(dead), len(files))
	}
	// 50 MB were offered twice; reading at most cap+1 of each keeps the
	// allocation to a few times the cap.
	if allocated > 16<<20 {
		t.Errorf("ingest allocated %d MiB for two 50 MiB downloads capped at %d MiB: the body is buffered past the cap", allocated>>20, capBytes>>20)
	}
	if sent := garbageSent.Load(); sent >= 2*garbage {
		t.Errorf("the garbage server sent all %d bytes: the client read past the cap", sent)
	}
	// Ingest keeps serving.
	ok := ing.IngestBytes(ctx, reportText("sites", 1), model.Source{Site: "sites.test", AttachmentName: "bao-cao.txt"})
	if ok.Outcome != ingest.OutcomeQueued {
		t.Errorf("a good report after the failures: %+v", ok)
	}
	record(t, figures{Scenario: "failing sites: down, 503, slow drip, 50 MB garbage ×2", ReportsIn: len(files), TotalS: took.Seconds(),
		PeakRSSMiB: peakRSSMiB("self"),
		Note: fmt.Sprintf("%d dead letters with reasons %v; %.1f MiB allocated by ingest; garbage server wrote %.1f MiB of 100 MiB offered",
			len(dead), reasons, float64(allocated)/(1<<20), float64(garbageSent.Load())/(1<<20))})
}

// articleHTML is a provincial-portal article page with attachments.
func articleHTML(title string, files ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>%s - Cổng thông tin huyện</title></head><body>
<nav><a href="/">Trang chủ</a></nav>
<article><h1>%s</h1><div class="date">05/12/2024</div>
<p>Sáng 5/12, HĐND huyện khai mạc kỳ họp thứ 12 để xem xét báo cáo tình hình kinh tế - xã hội năm 2024.</p>
<p>Các đại biểu thảo luận, cho ý kiến vào các báo cáo trình tại kỳ họp và biểu quyết thông qua các nghị quyết quan trọng.</p>
<div class="attachments"><strong>File đính kèm:</strong><ul>`, title, title)
	for _, f := range files {
		fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, f, f[strings.LastIndex(f, "/")+1:])
	}
	b.WriteString(`</ul></div></article><footer><a href="/lien-he">Liên hệ</a></footer></body></html>`)
	return []byte(b.String())
}

// TestNATSRestartUnderLoad: a single nats-server (file store) is shut
// down while reports are being submitted and summarised, and a new one is
// started on the same port and store a second later. Clients reconnect,
// publishes are retried with the same Msg-Id, uploads that failed are
// retried by the caller with the same bytes; every report comes out as
// exactly one digest.
func TestNATSRestartUnderLoad(t *testing.T) {
	n := reportCount(400, 100)
	checkGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	addr, store := freeAddr(t), t.TempDir()
	var nsMu sync.Mutex
	ns := embeddedNATS(t, addr, store)
	t.Cleanup(func() {
		nsMu.Lock()
		defer nsMu.Unlock()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	url := "nats://" + addr
	topo := bus.Topology{AckWait: 5 * time.Second, MaxDeliver: 20}
	bIng := connectBus(ctx, t, url, "ingest", topo)
	bSum := connectBus(ctx, t, url, "summarize", topo)
	bCheck := connectBus(ctx, t, url, "check", topo)

	sum, err := summarize.New(summarize.Config{Concurrency: 4}, summarize.Deps{Bus: bSum, Summarizer: extractive.New(extractive.Config{}), Log: testLog(), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: bIng, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	runRole(ctx, t, &wg, sum.Run)
	if !waitFor(30*time.Second, func() bool { return sum.Ready(ctx) == nil }) {
		t.Fatal("summarize not ready")
	}

	start := time.Now()
	up := &uploads{n: n, workers: 2, runID: fmt.Sprintf("nats-restart-%d", start.UnixNano()), site: "restart.test",
		retryDelay: 200 * time.Millisecond, maxRetries: 100, pace: 5 * time.Millisecond,
		// Only NATS being away may fail an upload; anything else is a bug.
		retryable: func(res ingest.Result) bool { return res.Reason == "store_failed" || res.Reason == "publish_failed" }}
	up.start(ctx, t, ing)

	if !waitFor(time.Minute, func() bool { return up.queued.Load() >= int64(n/3) }) {
		t.Fatalf("only %d reports queued before the fault", up.queued.Load())
	}
	atStop := streamMsgs(ctx, bCheck, model.StreamDigests)
	stoppedAt := time.Now()
	nsMu.Lock()
	ns.Shutdown()
	ns.WaitForShutdown()
	nsMu.Unlock()
	time.Sleep(time.Second)
	nsMu.Lock()
	ns = embeddedNATS(t, addr, store)
	nsMu.Unlock()
	restartedAt := time.Now()
	t.Logf("nats-server stopped at %d queued, %d digests; back after %s", up.queued.Load(), atStop, restartedAt.Sub(stoppedAt).Round(time.Millisecond))

	// Recovery: digests flow again after the restart.
	var recovery time.Duration
	if waitFor(time.Minute, func() bool { return streamMsgs(ctx, bCheck, model.StreamDigests) > atStop }) {
		recovery = time.Since(restartedAt)
	} else {
		t.Errorf("no digest within a minute of the restart")
	}
	up.wait()
	if !waitFor(2*time.Minute, func() bool { return streamMsgs(ctx, bCheck, model.StreamDigests) >= n && summarizeIdle(ctx, bCheck) }) {
		t.Errorf("%d of %d digests after 2 minutes", streamMsgs(ctx, bCheck, model.StreamDigests), n)
	}
	total := time.Since(start)
	digests := readDigests(ctx, t, bCheck)
	perReport := map[string]int{}
	for _, d := range digests {
		perReport[d.ReportID]++
	}
	dups, losses := len(digests)-len(perReport), 0
	for id := range up.ids {
		if perReport[id] == 0 {
			losses++
		}
	}
	if len(up.ids) != n || len(digests) != n || dups != 0 || losses != 0 {
		t.Errorf("%d reports queued, %d digests for %d reports: duplicates %d, losses %d; want %d once each", len(up.ids), len(digests), len(perReport), dups, losses, n)
	}
	if dl := streamMsgs(ctx, bCheck, model.StreamDeadLetter); dl != 0 {
		t.Errorf("%d dead letters, want none", dl)
	}
	if r := streamMsgs(ctx, bCheck, model.StreamReports); r != 0 {
		t.Errorf("%d reports left on REPORTS, want none", r)
	}
	record(t, figures{Scenario: "single nats-server (file store) shut down under load and restarted 1 s later on the same port and store", ReportsIn: n, DigestsOut: len(perReport),
		Duplicates: dups, Losses: losses, RecoveryS: recovery.Seconds(), TotalS: total.Seconds(), PeakRSSMiB: peakRSSMiB("self"),
		Note: fmt.Sprintf("stopped at %d digests; %d upload retries by the caller", atStop, up.retries.Load())})
}
