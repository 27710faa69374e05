package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

// TestDeadLettersActionable: poison messages are terminated at once, a
// report whose worker died on every delivery is dead-lettered from the
// MAX_DELIVERIES advisory, and `bantin dead list|show|retry` inspect and
// replay them: the replayed report becomes exactly one digest.
func TestDeadLettersActionable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bantin binary; skipped in -short")
	}
	log := slog.New(slog.DiscardHandler)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo := bus.Topology{AckWait: time.Second, MaxDeliver: 2}
	b, err := bus.Connect(ctx, ns.ClientURL(), "test", topo, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cons, err := b.EnsureSummarizeConsumer(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A good report whose worker "crashes" on both deliveries: nobody acks.
	good := model.Report{SchemaVersion: model.SchemaVersion, ID: model.ReportID(reportText("dead", 1)), Source: model.Source{Site: "dead.test", AttachmentName: "bao-cao-chet.txt"},
		Format: "text", Paragraphs: []model.Paragraph{{Text: string(reportText("dead", 1))}}}
	if _, err := b.PublishReport(ctx, &good); err != nil {
		t.Fatal(err)
	}
	for range topo.MaxDeliver {
		if _, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil {
			t.Fatalf("crashing worker's delivery: %v", err)
		}
		time.Sleep(topo.AckWait + 200*time.Millisecond)
	}
	// Poison: not JSON, and a schema from the future.
	subj := model.ReportSubject("dead.test")
	for i, data := range []string{"%PDF-1.4 not json", `{"schema_version":99,"id":"future"}`} {
		if _, err := b.JS.Publish(ctx, subj, []byte(data), jetstream.WithMsgID("poison-"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := summarize.New(summarize.Config{Concurrency: 2}, summarize.Deps{Bus: b, Summarizer: extractive.New(extractive.Config{}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	var list []bus.DeadEntry
	if !waitFor(20*time.Second, func() bool { list, _ = b.ListDead(ctx); return len(list) >= 3 }) {
		t.Fatalf("want 3 dead letters (2 poison, 1 max deliveries), have %+v", list)
	}
	time.Sleep(500 * time.Millisecond) // a doubled dead letter would show now
	list, _ = b.ListDead(ctx)
	reasons := map[string]bus.DeadEntry{}
	for _, e := range list {
		reasons[e.Letter.Reason+":"+e.Letter.ReportID] = e
	}
	if len(list) != 3 {
		t.Errorf("want exactly 3 dead letters, have %d: %+v", len(list), list)
	}
	maxd, ok := reasons["max_deliveries:"+good.ID]
	if !ok || maxd.Letter.Original == "" || maxd.Letter.Attempts != topo.MaxDeliver || maxd.Letter.Sequence == 0 {
		t.Fatalf("no actionable max_deliveries dead letter for the crashed report: %+v", list)
	}
	poison := 0
	for _, e := range list {
		if e.Letter.Reason == "poison" {
			poison++
			if e.Letter.Attempts != 1 || e.Letter.Original == "" {
				t.Errorf("poison message retried or its original not kept: %+v", e.Letter)
			}
		}
	}
	if poison != 2 {
		t.Errorf("%d poison dead letters, want 2", poison)
	}
	// The crashed report left the work queue (it would sit there forever).
	if s, err := b.JS.Stream(ctx, model.StreamReports); err == nil {
		if _, err := s.GetMsg(ctx, maxd.Letter.Sequence); !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Errorf("report #%d still on REPORTS after its dead letter: %v", maxd.Letter.Sequence, err)
		}
	}

	bin := bantinBinary(t)
	bantin := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{args[0], "--nats", ns.ClientURL(), "--log-level", "error"}, args[1:]...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bantin %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := bantin("dead", "list")
	for _, want := range []string{"ID", "STAGE", "REASON", "max_deliveries", "poison", "bao-cao-chet.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("dead list lacks %q:\n%s", want, out)
		}
	}
	out = bantin("dead", "show", "1")
	var shown bus.DeadEntry
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Seq != 1 || shown.Letter.Stage != "summarize" || shown.Letter.Original == "" {
		t.Errorf("dead show 1: %v\n%s", err, out)
	}
	out = bantin("dead", "retry", "--all")
	if !strings.Contains(out, "3 retried, 0 not") {
		t.Errorf("dead retry --all:\n%s", out)
	}
	// The replayed report is digested once; the poison is dead-lettered again.
	if !waitFor(20*time.Second, func() bool { m, _ := digestCounts(ctx, t, b); return m >= 1 }) {
		t.Fatal("replayed report not digested")
	}
	msgs, perID := digestCounts(ctx, t, b)
	if msgs != 1 || perID[model.DigestID(good.ID)] != 1 {
		t.Errorf("after retry: %d digests %v, want one of %s", msgs, perID, model.DigestID(good.ID))
	}
	waitFor(10*time.Second, func() bool { list, _ = b.ListDead(ctx); return len(list) == 2 })
	for _, e := range list {
		if e.Letter.Reason != "poison" {
			t.Errorf("after retry, unexpected dead letter %+v", e.Letter)
		}
	}
	if len(list) != 2 {
		t.Errorf("after retry: %d dead letters, want the 2 poison messages again", len(list))
	}
	cancel()
	<-done
}
