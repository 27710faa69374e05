package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
)

// Config holds the publish role's settings.
type Config struct {
	// BaseURL is the absolute URL readers reach this service at; feed links
	// are built from it.
	BaseURL string
	// Title names the feeds and pages.
	Title string
	// MaxEntries is the number of entries per feed.
	MaxEntries int
}

// Deps are the publish role's collaborators.
type Deps struct {
	Bus      *bus.Bus
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service is the publish role: it rebuilds its index from the DIGESTS
// stream with an ordered consumer and serves it. Replicas share nothing but
// the stream, so any number of them serve identical feeds.
type Service struct {
	cfg   Config
	bus   *bus.Bus
	log   *slog.Logger
	index *Index

	caughtUp atomic.Bool
	digests  prometheus.Gauge
	received prometheus.Counter
}

// New returns a publish service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("publish: a NATS bus is required")
	}
	if cfg.Title == "" {
		cfg.Title = "bantin"
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{
		cfg:   cfg,
		bus:   deps.Bus,
		log:   log.With("role", "publish"),
		index: NewIndex(IndexOptions{BaseURL: cfg.BaseURL, Title: cfg.Title, MaxEntries: cfg.MaxEntries}),
		digests: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bantin_publish_digests",
			Help: "Digests in this replica's index.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bantin_publish_messages_total",
			Help: "Messages read from the DIGESTS stream.",
		}),
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.digests, s.received} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering publish metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Index is the digest index this service serves.
func (s *Service) Index() *Index { return s.index }

// Register mounts the feeds and pages on mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("/", s.index.Handler())
}

// Ready reports whether the index has caught up with the stream.
func (s *Service) Ready(ctx context.Context) error {
	if !s.caughtUp.Load() {
		return errors.New("publish index still catching up with the DIGESTS stream")
	}
	return s.bus.Ready(ctx)
}

// Run follows the DIGESTS stream from its start until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	stream, err := s.bus.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", model.StreamDigests, err)
	}
	if stream.CachedInfo().State.Msgs == 0 {
		s.caughtUp.Store(true)
	}
	cons, err := s.bus.JS.OrderedConsumer(ctx, model.StreamDigests, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("following %s: %w", model.StreamDigests, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		s.received.Inc()
		var d model.Digest
		if err := json.Unmarshal(msg.Data(), &d); err != nil || d.ID == "" {
			s.log.Warn("skipping a message that is not a digest", "subject", msg.Subject(), "err", err)
		} else if d.SchemaVersion > model.SchemaVersion {
			s.log.Warn("skipping a digest from a newer bantin", "id", d.ID, "schema_version", d.SchemaVersion)
		} else if s.index.Put(d) {
			s.digests.Set(float64(s.index.Len()))
		}
		if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 && !s.caughtUp.Load() {
			s.caughtUp.Store(true)
			s.log.Info("publish index caught up", "digests", s.index.Len())
		}
	})
	if err != nil {
		return fmt.Errorf("consuming %s: %w", model.StreamDigests, err)
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}
