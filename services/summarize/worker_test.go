package summarize_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/llm"
)

func startBus(t *testing.T, topo bus.Topology) *bus.Bus {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, ns.ClientURL(), "test", topo, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func report(t *testing.T) *model.Report {
	t.Helper()
	raw, err := os.ReadFile("extractive/testdata/bao-cao-ktxh-thang-11.report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r model.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

const goodAnswer = `{"headline":"Bắc Giang: thu ngân sách vượt dự toán","summary":"Thu ngân sách nhà nước trên địa bàn 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. GRDP 11 tháng ước tăng 7,52% so với cùng kỳ.","bullets":[{"text":"Thu ngân sách đạt 18.245,6 tỷ đồng.","page":2},{"text":"Có 1.250 doanh nghiệp thành lập mới.","page":2},{"text":"Giao Sở Kế hoạch và Đầu tư tham mưu phân bổ vốn đầu tư công năm 2024.","page":3}],"figures":[{"text":"18.245,6 tỷ đồng","page":2}]}`

// worker runs a summarize worker until the test ends.
func worker(t *testing.T, b *bus.Bus, sum summarize.Summarizer) {
	t.Helper()
	s, err := summarize.New(summarize.Config{Concurrency: 2, ShutdownGrace: time.Second, Timeout: 20 * time.Second}, summarize.Deps{Bus: b, Summarizer: sum, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

func llmBackend(t *testing.T, b *bus.Bus, srv *llmtest.Server, cfg llm.Config) *llm.Summarizer {
	t.Helper()
	cache, err := b.LLMCache(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL, cfg.Model = srv.URL(), "test-model"
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 20 * time.Millisecond
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 5 * time.Second
	}
	s, err := llm.New(cfg, llm.Deps{Cache: cache, Fallback: extractive.New(extractive.Config{}), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// next waits for the next message on stream and decodes it into v.
func next(t *testing.T, b *bus.Bus, stream string, v any, within time.Duration) bool {
	t.Helper()
	ctx := context.Background()
	c, err := b.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.Next(jetstream.FetchMaxWait(within))
	if err != nil {
		return false
	}
	if err := json.Unmarshal(msg.Data(), v); err != nil {
		t.Fatal(err)
	}
	return true
}

func TestWorkerWithLLM(t *testing.T) {
	tests := []struct {
		name     string
		handler  llmtest.Handler
		opts     llmtest.Options
		cfg      llm.Config
		topo     bus.Topology
		dead     string // dead-letter reason; "" expects a digest
		backend  string
		review   string // expected in review_reason; "" expects none
		requests int
	}{
		{name: "429 with Retry-After then an answer", handler: llmtest.Sequence(llmtest.RateLimited(time.Second), llmtest.Text(goodAnswer)), backend: "llm:test-model", requests: 2},
		{name: "500 forever: flagged extractive digest", handler: llmtest.Sequence(llmtest.ServerError()), backend: "extractive", review: "unavailable", requests: 3},
		{
			name: "hang past the deadline without fallback: dead letter after bounded deliveries", handler: llmtest.Sequence(llmtest.Hang()),
			cfg: llm.Config{NoFallback: true, CallTimeout: 200 * time.Millisecond, MaxAttempts: 2}, topo: bus.Topology{MaxDeliver: 2},
			dead: "max_deliveries", requests: 4,
		},
		{name: "400 context_length_exceeded: dead letter", handler: llmtest.Sequence(llmtest.ContextTooLong(4096, 9000)), dead: "context_too_long", requests: 1},
		{name: "401: dead letter", handler: llmtest.Sequence(llmtest.Text(goodAnswer)), opts: llmtest.Options{APIKey: "sk-right"}, cfg: llm.Config{APIKey: "sk-wrong"}, dead: "llm_unauthorized", requests: 1},
		{name: "invented figure twice: flagged extractive digest", handler: llmtest.Sequence(llmtest.Text(strings.ReplaceAll(goodAnswer, "7,52%", "9,1%"))), backend: "extractive", review: `"9,1%"`, requests: 2},
		{
			// AckWait 1s, answers after 2.5s: InProgress keeps the report
			// ours, so there is one call and one delivery.
			name: "slow answer outlives AckWait", handler: llmtest.Sequence(llmtest.Reply{Content: goodAnswer, Delay: 2500 * time.Millisecond}),
			topo: bus.Topology{AckWait: time.Second}, backend: "llm:test-model", requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startBus(t, tt.topo)
			srv := llmtest.New(tt.handler, tt.opts)
			t.Cleanup(srv.Close)
			worker(t, b, llmBackend(t, b, srv, tt.cfg))
			r := report(t)
			if _, err := b.PublishReport(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if tt.dead != "" {
				var dl model.DeadLetter
				if !next(t, b, model.StreamDeadLetter, &dl, 15*time.Second) {
					t.Fatal("no dead letter")
				}
				if dl.Reason != tt.dead || dl.ReportID != r.ID || dl.Error == "" {
					t.Errorf("dead letter %+v, want reason %q", dl, tt.dead)
				}
			} else {
				var d model.Digest
				if !next(t, b, model.StreamDigests, &d, 15*time.Second) {
					t.Fatal("no digest")
				}
				if d.Backend != tt.backend || d.NeedsReview != (tt.review != "") || !strings.Contains(d.ReviewReason, tt.review) {
					t.Errorf("digest backend %q, needs_review %v (%q); want %q, review %q", d.Backend, d.NeedsReview, d.ReviewReason, tt.backend, tt.review)
				}
			}
			// Nothing more happens: attempts are bounded.
			time.Sleep(1500 * time.Millisecond)
			if n := srv.Count(); n != tt.requests {
				t.Errorf("the endpoint got %d requests, want %d", n, tt.requests)
			}
			info, err := b.JS.Stream(context.Background(), model.StreamDigests)
			if err != nil {
				t.Fatal(err)
			}
			want := uint64(1)
			if tt.dead != "" {
				want = 0
			}
			if got := info.CachedInfo().State.Msgs; got != want {
				t.Errorf("%d digests, want %d", got, want)
			}
		})
	}
}

func TestWorkerCacheAcrossRedelivery(t *testing.T) {
	b := startBus(t, bus.Topology{})
	srv := llmtest.New(llmtest.Sequence(llmtest.Text(goodAnswer)), llmtest.Options{})
	t.Cleanup(srv.Close)
	worker(t, b, llmBackend(t, b, srv, llm.Config{}))
	r := report(t)
	ctx := context.Background()
	if _, err := b.PublishReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	var d model.Digest
	if !next(t, b, model.StreamDigests, &d, 10*time.Second) {
		t.Fatal("no digest")
	}
	// The report comes again as if its digest had never been recorded
	// (a crash between summarising and acking): the cache answers.
	if err := b.Digested.Purge(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(r)
	if _, err := b.JS.Publish(ctx, model.ReportSubject(r.Source.Site), data, jetstream.WithMsgID(r.ID+"-again")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := b.DigestedID(ctx, r.ID); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the report was not digested again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := srv.Count(); n != 1 {
		t.Errorf("the endpoint got %d requests for one report delivered twice, want 1", n)
	}
}

// tamper is the extractive summariser with one figure changed, as a
// backend bug would.
type tamper struct{ *extractive.Summarizer }

func (s tamper) Summarize(ctx context.Context, r *model.Report) (*model.Digest, error) {
	d, err := s.Summarizer.Summarize(ctx, r)
	if err == nil {
		d.Summary += " Thu ngân sách tăng 99,9%."
	}
	return d, err
}

func TestWorkerChecksExtractiveDigests(t *testing.T) {
	tests := []struct {
		name   string
		sum    summarize.Summarizer
		review bool
	}{
		{name: "faithful extractive digest", sum: extractive.New(extractive.Config{})},
		{name: "unfaithful digest is flagged", sum: tamper{extractive.New(extractive.Config{})}, review: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBus(t, bus.Topology{})
			worker(t, b, tt.sum)
			if _, err := b.PublishReport(context.Background(), report(t)); err != nil {
				t.Fatal(err)
			}
			var d model.Digest
			if !next(t, b, model.StreamDigests, &d, 10*time.Second) {
				t.Fatal("no digest")
			}
			if d.NeedsReview != tt.review || (tt.review && !strings.Contains(d.ReviewReason, "99,9%")) {
				t.Errorf("needs_review %v, reason %q", d.NeedsReview, d.ReviewReason)
			}
		})
	}
}
