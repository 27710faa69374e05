package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/model"
)

// Settler maps a work-queue worker's outcome for one message to Ack, Nak or
// Term, the same way for every stage: a cancelled context (shutdown) nak's
// at once so another worker takes over, a failure is retried with a growing
// delay until MaxDeliver, and a permanent failure is filed as a dead letter
// (with a copy of the message, so `bantin dead retry` can replay it) and
// terminated.
type Settler struct {
	Bus *Bus
	Log *slog.Logger
	// Outcomes counts "nak", "retried" and "dead" by the label "outcome".
	Outcomes *prometheus.CounterVec
	// Noun names the message in logs: "report", "OCR job".
	Noun string
}

// KeepAlive tells JetStream the message is still being worked on, every
// third of AckWait, until the returned stop is called.
func (s *Settler) KeepAlive(ctx context.Context, msg jetstream.Msg) (stop func()) {
	every := s.Bus.Topology.AckWait / 3
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Ack acknowledges msg, logging a failure.
func (s *Settler) Ack(msg jetstream.Msg, log *slog.Logger) {
	if err := msg.Ack(); err != nil {
		log.Warn("acking "+s.Noun, "err", err)
	}
}

// Retry nak's with a growing delay, or dead-letters on the last attempt.
func (s *Settler) Retry(ctx context.Context, msg jetstream.Msg, dl model.DeadLetter, attempts int, err error, log *slog.Logger) {
	if ctx.Err() != nil {
		log.Info("shutting down; handing "+s.Noun+" back", "err", err)
		_ = msg.Nak()
		s.Outcomes.WithLabelValues("nak").Inc()
		return
	}
	if attempts >= s.Bus.Topology.MaxDeliver {
		dl.Reason, dl.Error = "max_deliveries", err.Error()
		s.Terminate(ctx, msg, dl)
		return
	}
	delay := time.Duration(attempts*attempts) * time.Second
	log.Warn(s.Noun+" failed; will retry", "err", err, "delay", delay)
	_ = msg.NakWithDelay(delay)
	s.Outcomes.WithLabelValues("retried").Inc()
}

// Terminate files a dead letter and stops redelivery. When the dead letter
// cannot be filed the message is nak'ed, so nothing is lost.
func (s *Settler) Terminate(ctx context.Context, msg jetstream.Msg, dl model.DeadLetter) {
	s.Log.Warn(s.Noun+" dead-lettered", "report_id", dl.ReportID, "reason", dl.Reason, "err", dl.Error)
	if err := s.Bus.FileDead(context.WithoutCancel(ctx), dl, msg.Data()); err != nil {
		s.Log.Error("filing dead letter; leaving the "+s.Noun+" for redelivery", "err", err)
		_ = msg.Nak()
		return
	}
	_ = msg.TermWithReason(dl.Reason)
	s.Outcomes.WithLabelValues("dead").Inc()
}

// Job is one report message a worker has taken on.
type Job struct {
	Report   model.Report
	Attempts int
	// Dead is this job's dead letter, filled in but for Reason and Error.
	Dead model.DeadLetter
	Log  *slog.Logger
}

// Begin decodes a report message for stage and settles what needs no work:
// a message that is not a report of a known schema is terminated at once
// (poison, never retried), a report that already has its digest is acked
// ("skipped"), and a report whose text cannot be loaded is retried. It
// returns nil when msg is settled, else the job to work on.
func (s *Settler) Begin(ctx context.Context, msg jetstream.Msg, stage string) *Job {
	attempts := 1
	var seq uint64
	if meta, err := msg.Metadata(); err == nil {
		attempts = int(meta.NumDelivered)
		seq = meta.Sequence.Stream
	}
	var r model.Report
	if err := json.Unmarshal(msg.Data(), &r); err != nil || r.ID == "" || r.SchemaVersion > model.SchemaVersion {
		reason := fmt.Sprintf("not a report of schema_version ≤ %d", model.SchemaVersion)
		if err != nil {
			reason = fmt.Sprintf("decoding report: %v", err)
		}
		s.Terminate(ctx, msg, model.DeadLetter{Stage: stage, Reason: "poison", Error: reason, Subject: msg.Subject(), Sequence: seq, Attempts: attempts})
		return nil
	}
	log := s.Log.With("report_id", r.ID, "attempt", attempts)
	dl := model.DeadLetter{Stage: stage, ReportID: r.ID, Name: r.Title(), Source: r.Source, Subject: msg.Subject(), Sequence: seq, Attempts: attempts}
	if id, ok, err := s.Bus.DigestedID(ctx, r.ID); err == nil && ok {
		log.Info("report already digested; skipping", "digest_id", id)
		s.Ack(msg, log)
		s.Outcomes.WithLabelValues("skipped").Inc()
		return nil
	}
	if err := s.Bus.LoadText(ctx, &r); err != nil {
		s.Retry(ctx, msg, dl, attempts, fmt.Errorf("loading report text: %w", err), log)
		return nil
	}
	return &Job{Report: r, Attempts: attempts, Dead: dl, Log: log}
}
