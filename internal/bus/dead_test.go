package bus

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

func TestDeadLetterKeepsOriginalAndReplays(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	r := model.Report{SchemaVersion: 1, ID: "abc123", Source: model.Source{Site: "example.gov.vn", AttachmentName: "bao-cao.pdf"},
		Paragraphs: []model.Paragraph{{Text: "Báo cáo."}}}
	if _, err := b.PublishReport(ctx, &r); err != nil {
		t.Fatal(err)
	}
	orig, _ := json.Marshal(r)
	dl := model.DeadLetter{Stage: "summarize", Reason: "too_short", Error: "x", ReportID: r.ID, Name: "bao-cao.pdf",
		Subject: model.ReportSubject(r.Source.Site), Sequence: 1, Attempts: 1}
	// The worker and the advisory listener may both file it: one dead letter.
	for range 2 {
		if err := b.FileDead(ctx, dl, orig); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PublishDead(ctx, model.DeadLetter{Stage: "ingest", Reason: "corrupt", Error: "y", Name: "hong.pdf"}); err != nil {
		t.Fatal(err)
	}
	list, err := b.ListDead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("want 2 dead letters (one per failure), have %d: %+v", len(list), list)
	}
	e := list[0]
	if e.Letter.Original != OriginalKey(model.StreamReports, 1) || e.Letter.ReportID != r.ID || e.Letter.Stage != "summarize" {
		t.Fatalf("first dead letter: %+v", e.Letter)
	}
	got, err := b.GetDead(ctx, e.Seq)
	if err != nil || got.Letter.Reason != "too_short" {
		t.Fatalf("GetDead: %+v %v", got, err)
	}
	if _, err := b.GetDead(ctx, 999); !errors.Is(err, ErrDeadNotFound) {
		t.Fatalf("GetDead(999): %v, want ErrDeadNotFound", err)
	}
	if data, err := b.OriginalOf(ctx, e.Letter); err != nil || string(data) != string(orig) {
		t.Fatalf("original: %q %v", data, err)
	}
	// Drain the first copy so only the replay is left on REPORTS.
	cons, err := b.EnsureSummarizeConsumer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	for range 2 { // retried twice: queued once
		if err := b.Requeue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	m, err = cons.Next(jetstream.FetchMaxWait(2 * time.Second))
	if err != nil {
		t.Fatalf("replayed report not on REPORTS: %v", err)
	}
	if string(m.Data()) != string(orig) || m.Subject() != dl.Subject {
		t.Fatalf("replayed %s %q, want %s %q", m.Subject(), m.Data(), dl.Subject, orig)
	}
	m.Ack()
	if _, err := cons.Next(jetstream.FetchMaxWait(500 * time.Millisecond)); err == nil {
		t.Fatal("a second retry of the same dead letter queued the report twice")
	}
	if err := b.RemoveDead(ctx, e); err != nil {
		t.Fatal(err)
	}
	if list, _ := b.ListDead(ctx); len(list) != 1 || list[0].Letter.Stage != "ingest" {
		t.Fatalf("after removal: %+v", list)
	}
	if _, err := b.OriginalOf(ctx, e.Letter); err == nil {
		t.Fatal("original kept after the dead letter was removed")
	}
}
