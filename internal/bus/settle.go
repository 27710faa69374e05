package bus

import (
	"context"
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
