package ocr

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

func startBus(t *testing.T) *bus.Bus {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, ns.ClientURL(), "test", bus.Topology{}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// runWorker runs an OCR worker until the test ends.
func runWorker(t *testing.T, b *bus.Bus, cfg Config) *prometheus.Registry {
	t.Helper()
	cfg.ShutdownGrace = time.Second
	reg := prometheus.NewRegistry()
	s, err := New(cfg, Deps{Bus: b, Log: slog.New(slog.DiscardHandler), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ocr worker: %v", err)
		}
	})
	return reg
}

// waitFor polls stream for the last message on subject and decodes it.
func waitFor(t *testing.T, b *bus.Bus, stream, subject string, v any, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := b.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := st.GetLastMsgForSubject(ctx, subject)
		if err == nil {
			if err := json.Unmarshal(m.Data, v); err != nil {
				t.Fatalf("decoding %s: %v", subject, err)
			}
			return
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatalf("reading %s: %v", subject, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing on %s after %v", subject, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// consumerSettled waits until the ocr consumer has nothing pending or
// unacknowledged.
func consumerSettled(t *testing.T, b *bus.Bus) {
	t.Helper()
	ctx := context.Background()
	for range 50 {
		c, err := b.JS.Consumer(ctx, model.StreamOCR, model.ConsumerOCR)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("the ocr consumer still holds the job")
}

func TestScannedDecreeBecomesDigestWithOCRInfo(t *testing.T) {
	needTools(t)
	raw, err := os.ReadFile(corpusPDF(t, scannedDecree))
	if err != nil {
		t.Fatal(err)
	}
	b := startBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	res := ing.IngestBytes(ctx, raw, model.Source{AttachmentName: "2239-QD-TTg.pdf", Site: "chinhphu.vn"})
	if res.Outcome != ingest.OutcomeOCR {
		t.Fatalf("ingest outcome = %q (%s: %s), want %q", res.Outcome, res.Reason, res.Error, ingest.OutcomeOCR)
	}
	var job model.Report
	waitFor(t, b, model.StreamOCR, model.OCRSubject("chinhphu.vn"), &job, 5*time.Second)
	if !slices.Equal(job.OCRPending, []int{1}) {
		t.Errorf("OCR job pages = %v, want [1]", job.OCRPending)
	}

	reg := runWorker(t, b, Config{})
	sum, err := summarize.New(summarize.Config{ShutdownGrace: time.Second}, summarize.Deps{Bus: b, Summarizer: extractive.New(extractive.Config{}), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- sum.Run(sctx) }()
	defer func() { scancel(); <-sdone }()

	var d model.Digest
	waitFor(t, b, model.StreamDigests, model.DigestSubject("chinhphu.vn"), &d, 50*time.Second)
	if d.ReportID != res.ReportID {
		t.Errorf("digest of report %s, want %s", d.ReportID, res.ReportID)
	}
	if d.OCR == nil {
		t.Fatalf("digest built on OCR text does not say so: %+v", d)
	}
	if !slices.Equal(d.OCR.Pages, []int{1}) || d.OCR.Confidence < 70 || d.OCR.Confidence > 100 || !strings.HasPrefix(d.OCR.Engine, "tesseract") || d.OCR.DPI != DefaultDPI {
		t.Errorf("digest OCR info = %+v, want page [1], confidence 70–100, tesseract at %d dpi", *d.OCR, DefaultDPI)
	}
	text := d.Summary
	for _, bl := range d.Bullets {
		text += " " + bl.Text
		if bl.Page != 1 {
			t.Errorf("bullet on page %d, want 1: %q", bl.Page, bl.Text)
		}
	}
	// The summary comes from the OCR text, not from the signature stamp.
	if !strings.Contains(text, "Cần Thơ") && !strings.Contains(text, "Ủy ban nhân dân") {
		t.Errorf("digest does not read like the decree:\n%s", text)
	}
	// Operators see OCR pages per source.
	if got := counterValue(t, reg, "bantin_ocr_pages_total", map[string]string{"site": "chinhphu.vn", "outcome": "text"}); got != 1 {
		t.Errorf("bantin_ocr_pages_total{site=chinhphu.vn,outcome=text} = %v, want 1", got)
	}
	consumerSettled(t, b)
}

// counterValue reads one counter of reg by name and labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestMissingTesseractDeadLettersScan(t *testing.T) {
	raw, err := os.ReadFile(corpusPDF(t, scannedDecree))
	if err != nil {
		t.Fatal(err)
	}
	b := startBus(t)
	ctx := context.Background()
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	res := ing.IngestBytes(ctx, raw, model.Source{AttachmentName: "2239-QD-TTg.pdf"})
	if res.Outcome != ingest.OutcomeOCR {
		t.Fatalf("ingest outcome = %q (%s), want %q", res.Outcome, res.Error, ingest.OutcomeOCR)
	}
	runWorker(t, b, Config{Tesseract: "/nonexistent/tesseract"})

	var dl model.DeadLetter
	waitFor(t, b, model.StreamDeadLetter, model.DeadSubject("ocr"), &dl, 10*time.Second)
	if dl.Reason != "needs_ocr" || dl.ReportID != res.ReportID || dl.Stage != "ocr" {
		t.Errorf("dead letter = %+v, want stage ocr, reason needs_ocr for %s", dl, res.ReportID)
	}
	if !strings.Contains(dl.Error, "install the Debian packages tesseract-ocr tesseract-ocr-vie poppler-utils") {
		t.Errorf("dead letter error %q does not say what to install", dl.Error)
	}
	consumerSettled(t, b)
}

func TestMissingTesseractForwardsTextLayer(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	r := &model.Report{
		SchemaVersion: model.SchemaVersion, ID: strings.Repeat("ab", 32), Format: "pdf", Pages: 2,
		Source:     model.Source{Site: "upload", AttachmentName: "bao-cao.pdf"},
		Paragraphs: []model.Paragraph{{Page: 2, Text: "Ủy ban nhân dân tỉnh báo cáo tình hình kinh tế - xã hội tháng 11."}},
		OCRPending: []int{1},
	}
	if _, err := b.PublishOCR(ctx, r); err != nil {
		t.Fatal(err)
	}
	runWorker(t, b, Config{Tesseract: "/nonexistent/tesseract"})

	var got model.Report
	waitFor(t, b, model.StreamReports, model.ReportSubject("upload"), &got, 10*time.Second)
	if len(got.OCRPending) != 0 || got.OCR != nil || got.Text() != r.Text() {
		t.Errorf("forwarded report = %+v, want the text layer unchanged and nothing pending", got)
	}
	if !slices.ContainsFunc(got.Warnings, func(w string) bool {
		return strings.Contains(w, "page 1 not OCRed") && strings.Contains(w, "tesseract-ocr-vie")
	}) {
		t.Errorf("warnings %q do not say page 1 was not OCRed and what to install", got.Warnings)
	}
	consumerSettled(t, b)
}

func TestMerge(t *testing.T) {
	p := func(page int, text string) model.Paragraph { return model.Paragraph{Page: page, Text: text} }
	tests := []struct {
		name     string
		paras    []model.Paragraph
		got      map[int][]model.Paragraph
		want     []model.Paragraph
		wantUsed []int
	}{
		{
			name:     "stamp replaced by the page's text",
			paras:    []model.Paragraph{p(1, "Người ký: Văn phòng Chính phủ")},
			got:      map[int][]model.Paragraph{1: {p(1, "THỦ TƯỚNG CHÍNH PHỦ"), p(1, "Điều 1. Phê chuẩn việc miễn nhiệm")}},
			want:     []model.Paragraph{p(1, "THỦ TƯỚNG CHÍNH PHỦ"), p(1, "Điều 1. Phê chuẩn việc miễn nhiệm")},
			wantUsed: []int{1},
		},
		{
			name:     "scanned pages slot in between text pages",
			paras:    []model.Paragraph{p(1, "Trang một có chữ"), p(3, "Trang ba có chữ")},
			got:      map[int][]model.Paragraph{2: {p(2, "Trang hai quét")}, 4: {p(4, "Trang bốn quét")}},
			want:     []model.Paragraph{p(1, "Trang một có chữ"), p(2, "Trang hai quét"), p(3, "Trang ba có chữ"), p(4, "Trang bốn quét")},
			wantUsed: []int{2, 4},
		},
		{
			name:     "a richer text layer is kept",
			paras:    []model.Paragraph{p(1, "Báo cáo tình hình kinh tế xã hội")},
			got:      map[int][]model.Paragraph{1: {p(1, "Bá0 cá0")}},
			want:     []model.Paragraph{p(1, "Báo cáo tình hình kinh tế xã hội")},
			wantUsed: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &model.Report{Paragraphs: slices.Clone(tt.paras)}
			used := merge(r, tt.got)
			if !slices.Equal(used, tt.wantUsed) {
				t.Errorf("used = %v, want %v", used, tt.wantUsed)
			}
			if !slices.Equal(r.Paragraphs, tt.want) {
				t.Errorf("paragraphs = %+v, want %+v", r.Paragraphs, tt.want)
			}
		})
	}
}

func TestShutdownHandsUnfinishedJobBack(t *testing.T) {
	needTools(t)
	raw, err := os.ReadFile(corpusPDF(t, "vi-9533-cn.signed.pdf")) // 4 scanned pages
	if err != nil {
		t.Fatal(err)
	}
	b := startBus(t)
	ctx := context.Background()
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if res := ing.IngestBytes(ctx, raw, model.Source{AttachmentName: "9533-CN.pdf"}); res.Outcome != ingest.OutcomeOCR {
		t.Fatalf("ingest outcome = %q (%s), want %q", res.Outcome, res.Error, ingest.OutcomeOCR)
	}
	s, err := New(Config{ShutdownGrace: 200 * time.Millisecond}, Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(wctx) }()

	cons, err := b.JS.Consumer(ctx, model.StreamOCR, model.ConsumerOCR)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // wait until the worker holds the job
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 1 {
			break
		}
		if i == 100 {
			t.Fatal("the worker never took the job")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // inside the first page's OCR
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v; the OCR processes were not killed after the grace period", took)
	}
	// Nak'ed, not acked nor held until AckWait (2 min): the next worker
	// gets the job at once.
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	for m := range batch.Messages() {
		got++
		if meta, err := m.Metadata(); err != nil || meta.NumDelivered != 2 {
			t.Errorf("redelivered job: metadata %+v, %v; want its second delivery", meta, err)
		}
		_ = m.Nak()
	}
	if got != 1 {
		t.Errorf("the next worker got %d jobs within 5 s, want the nak'ed one", got)
	}
	st, err := b.JS.Stream(ctx, model.StreamOCR)
	if err != nil {
		t.Fatal(err)
	}
	if si, err := st.Info(ctx); err != nil || si.State.Msgs != 1 {
		t.Errorf("OCR stream holds %v messages (err %v), want the job still there", si.State.Msgs, err)
	}
	if st, err := b.JS.Stream(ctx, model.StreamDeadLetter); err == nil {
		if si, err := st.Info(ctx); err == nil && si.State.Msgs != 0 {
			t.Errorf("shutdown filed %d dead letters", si.State.Msgs)
		}
	}
}
