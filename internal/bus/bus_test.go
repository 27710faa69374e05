package bus

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

func startBus(t *testing.T) *Bus {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ns, err := StartEmbedded(EmbeddedOptions{StoreDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Connect(ctx, ns.ClientURL(), "test", Topology{}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestSetupIsIdempotent(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	for i := range 2 {
		if _, err := Open(ctx, b.NC, Topology{}); err != nil {
			t.Fatalf("setup #%d: %v", i+2, err)
		}
	}
	for _, name := range []string{model.StreamReports, model.StreamDigests, model.StreamDeadLetter} {
		if _, err := b.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	c, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.AckWait; got != DefaultAckWait {
		t.Errorf("AckWait = %v, want %v", got, DefaultAckWait)
	}
}

func TestSummarizeConsumerKeepsWorkerSettings(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	worker, err := Open(ctx, b.NC, Topology{AckWait: 5 * time.Minute, MaxDeliver: 9})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := worker.EnsureSummarizeConsumer(ctx); err != nil {
		t.Fatal(err)
	}
	// Another role starting with defaults must not reset the worker's settings.
	if _, err := Open(ctx, b.NC, Topology{}); err != nil {
		t.Fatal(err)
	}
	c, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	if cfg.AckWait != 5*time.Minute || cfg.MaxDeliver != 9 {
		t.Errorf("consumer AckWait=%v MaxDeliver=%d, want 5m and 9", cfg.AckWait, cfg.MaxDeliver)
	}
}

func TestPublishReportDeduplicatesByID(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	r := &model.Report{SchemaVersion: 1, ID: model.ReportID([]byte("x")), Source: model.Source{Site: "baobacgiang.vn"}}
	dup, err := b.PublishReport(ctx, r)
	if err != nil || dup {
		t.Fatalf("first publish: dup=%v err=%v", dup, err)
	}
	dup, err = b.PublishReport(ctx, r)
	if err != nil || !dup {
		t.Fatalf("second publish: dup=%v err=%v, want duplicate", dup, err)
	}
	s, err := b.JS.Stream(ctx, model.StreamReports)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("REPORTS holds %d messages, want 1", n)
	}
	if subj := model.ReportSubject(r.Source.Site); subj != "bantin.report.baobacgiang_vn" {
		t.Errorf("subject %q", subj)
	}
}

func TestLargeTextGoesToObjectStore(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	big := strings.Repeat("Thu ngân sách nhà nước đạt 18.245,6 tỷ đồng. ", 20000) // ~1 MB
	r := &model.Report{ID: "abc", Paragraphs: []model.Paragraph{{Page: 1, Text: big}}}
	if err := b.OffloadText(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.TextRef == "" || r.Paragraphs != nil {
		t.Fatalf("large text stayed inline: ref=%q", r.TextRef)
	}
	if _, err := b.PublishReport(ctx, r); err != nil {
		t.Fatalf("publishing the slim report: %v", err)
	}
	if err := b.LoadText(ctx, r); err != nil {
		t.Fatal(err)
	}
	if len(r.Paragraphs) != 1 || r.Paragraphs[0].Text != big || r.Paragraphs[0].Page != 1 {
		t.Fatal("text did not round-trip through the object store")
	}
	small := &model.Report{ID: "def", Paragraphs: []model.Paragraph{{Text: "ngắn"}}}
	if err := b.OffloadText(ctx, small); err != nil || small.TextRef != "" {
		t.Fatalf("small text offloaded: %q %v", small.TextRef, err)
	}
}

func TestDigestedSurvivesReconnect(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	if _, ok, err := b.DigestedID(ctx, "r1"); err != nil || ok {
		t.Fatalf("unknown report: ok=%v err=%v", ok, err)
	}
	if err := b.MarkDigested(ctx, "r1", "d1"); err != nil {
		t.Fatal(err)
	}
	b2, err := Open(ctx, b.NC, Topology{})
	if err != nil {
		t.Fatal(err)
	}
	id, ok, err := b2.DigestedID(ctx, "r1")
	if err != nil || !ok || id != "d1" {
		t.Fatalf("DigestedID = %q %v %v, want d1", id, ok, err)
	}
}
