// Package summarize runs the workers that turn reports from the REPORTS
// work queue into digests on the DIGESTS stream. The summarising itself is
// behind the Summarizer interface: the offline extractive summariser is the
// default, an LLM behind any OpenAI-compatible endpoint the alternative.
package summarize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/faithful"
)

// Summarizer writes the digest of one report.
type Summarizer interface {
	// Name is the digest's backend: "extractive" or "llm:<model>".
	Name() string
	Summarize(ctx context.Context, r *model.Report) (*model.Digest, error)
}

var _ Summarizer = (*extractive.Summarizer)(nil)

// PermanentError marks a failure that retrying cannot fix (the report is
// too short, the model refuses its size…): the message is terminated and
// dead-lettered with Reason at once.
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// MinOCRConfidence is the mean OCR word confidence (0–100) below which a
// digest built on OCR text is flagged for review.
const MinOCRConfidence = 60

// Config holds a summarize worker's settings.
type Config struct {
	// Concurrency is how many reports one worker summarises at once.
	Concurrency int
	// ShutdownGrace is how long in-flight reports may finish after the
	// context is cancelled before they are nak'ed for another worker.
	ShutdownGrace time.Duration
	// Timeout bounds the summarising of one report.
	Timeout time.Duration
}

// Deps are a worker's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Summarizer Summarizer
	Log        *slog.Logger
	Registry   prometheus.Registerer
}

// Service is the summarize role.
type Service struct {
	cfg Config
	bus *bus.Bus
	sum Summarizer
	log *slog.Logger

	handled  *prometheus.CounterVec
	duration prometheus.Histogram
	// slots bounds the reports being summarised at once (Concurrency).
	slots chan struct{}

	ready  chan struct{}
	settle *bus.Settler
}

// New returns a summarize worker.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("summarize: a NATS bus is required")
	}
	if deps.Summarizer == nil {
		return nil, errors.New("summarize: a summarizer is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 20 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{
		cfg: cfg, bus: deps.Bus, sum: deps.Summarizer,
		log: log.With("role", "summarize", "backend", deps.Summarizer.Name()),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_summarize_reports_total",
			Help: "Reports handled by summarize workers, by outcome (digested, skipped, retried, dead).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bantin_summarize_duration_seconds",
			Help:    "Time to summarise one report.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		ready: make(chan struct{}),
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.handled, s.duration} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering summarize metrics: %w", err)
			}
		}
	}
	s.settle = &bus.Settler{Bus: s.bus, Log: s.log, Outcomes: s.handled, Noun: "report"}
	return s, nil
}

// Ready reports whether the worker is consuming.
func (s *Service) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.bus.Ready(ctx)
	default:
		return errors.New("summarize worker not consuming yet")
	}
}

// Run consumes reports until ctx is done, then drains: it stops pulling,
// lets in-flight reports finish within ShutdownGrace and nak's the rest so
// another worker takes them at once instead of after AckWait.
func (s *Service) Run(ctx context.Context) error {
	cons, err := s.bus.EnsureSummarizeConsumer(ctx)
	if err != nil {
		return err
	}
	stopAdvisories, err := s.watchMaxDeliveries()
	if err != nil {
		return err
	}
	defer stopAdvisories()
	// work outlives ctx by the grace period so in-flight reports can finish.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	// Concurrency reports are summarised at once; as many again may be
	// decoding, looked up or published meanwhile, so that the round trips
	// to NATS of one report overlap the summarising of the next instead
	// of leaving a core (or an LLM slot) idle.
	s.slots = make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	close(s.ready)
	s.log.Info("summarize worker consuming", "stream", model.StreamReports, "consumer", model.ConsumerSummarize, "concurrency", s.cfg.Concurrency)
	// Each pull waits for Concurrency free handlers, half of them, the
	// other half still busy.
	bus.Puller{Consumer: cons, Handlers: 2 * s.cfg.Concurrency, Batch: s.cfg.Concurrency,
		Name: model.StreamReports + "/" + model.ConsumerSummarize, Log: s.log}.
		Run(ctx, &wg, func(msg jetstream.Msg) func() { return func() { s.handle(work, msg) } })

	s.log.Info("draining summarize worker")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownGrace):
		s.log.Warn("in-flight reports did not finish within the grace period; nak'ing them", "grace", s.cfg.ShutdownGrace)
		cancelWork()
		<-done
	}
	s.log.Info("summarize worker stopped")
	return nil
}

// handle maps one message's outcome to Ack, Nak or Term.
func (s *Service) handle(ctx context.Context, msg jetstream.Msg) {
	start := time.Now()
	job := s.settle.Begin(ctx, msg, "summarize")
	if job == nil {
		return
	}
	r, dl, attempts, log := job.Report, job.Dead, job.Attempts, job.Log

	// Keep the message ours while it waits for a summarising slot and
	// while a slow backend works; Timeout starts once it has the slot, so
	// waiting behind slow reports never counts as a failed attempt.
	kctx, cancel := context.WithCancel(ctx)
	stop := s.settle.KeepAlive(kctx, msg)
	d, err := s.summarize(ctx, &r)
	stop()
	cancel()
	if err != nil {
		var perm *PermanentError
		switch {
		case errors.As(err, &perm):
			dl.Reason, dl.Error = perm.Reason, err.Error()
			s.settle.Terminate(ctx, msg, dl)
		case errors.Is(err, extractive.ErrTooShort):
			dl.Reason, dl.Error = "too_short", err.Error()
			s.settle.Terminate(ctx, msg, dl)
		default:
			s.settle.Retry(ctx, msg, dl, attempts, err, log)
		}
		return
	}
	// A digest built on OCR text says so, whatever the backend.
	if r.OCR != nil && len(r.OCR.Pages) > 0 {
		d.OCR = r.OCR
		if r.OCR.Confidence < MinOCRConfidence && !d.NeedsReview {
			d.NeedsReview = true
			d.ReviewReason = strings.TrimSpace(d.ReviewReason + fmt.Sprintf(" Văn bản quét, nhận dạng OCR với độ tin cậy thấp (%.0f%%).", r.OCR.Confidence))
		}
	}
	// Whatever the backend, a digest must not state what the report does not.
	if res := faithful.Check(&r, d); !res.OK() && !strings.Contains(d.ReviewReason, res.Reason()) {
		d.NeedsReview = true
		d.ReviewReason = strings.TrimSpace(d.ReviewReason + " " + res.Reason())
		log.Warn("digest failed the faithfulness check; flagged for review", "reason", res.Reason())
	}
	if err := s.bus.PublishDigest(ctx, d); err != nil {
		s.settle.Retry(ctx, msg, dl, attempts, err, log)
		return
	}
	if err := s.bus.MarkDigested(ctx, r.ID, d.ID); err != nil {
		// The digest is out; a redelivery would be de-duplicated by id.
		log.Warn("recording digest", "err", err)
	}
	s.settle.Ack(msg, log)
	s.duration.Observe(time.Since(start).Seconds())
	s.handled.WithLabelValues("digested").Inc()
	log.Info("digest published", "digest_id", d.ID, "bullets", len(d.Bullets), "figures", len(d.Figures), "took", time.Since(start).Round(time.Millisecond))
}

// summarize runs the backend on r, within Timeout, once one of the
// Concurrency slots is free.
func (s *Service) summarize(ctx context.Context, r *model.Report) (*model.Digest, error) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		return s.sum.Summarize(tctx, r)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a summarising slot: %w", ctx.Err())
	}
}
