package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
	// CacheSize bounds the digests the index keeps in full; the others
	// are read again from the DIGESTS stream. See IndexOptions.CacheSize.
	CacheSize int
	// OutputCacheBytes bounds the rendered feeds and pages kept for
	// conditional GET. See IndexOptions.OutputCacheBytes.
	OutputCacheBytes int64
	// RetentionCheck is how often the index drops the digests DIGESTS no
	// longer holds (an operator's MaxAge, MaxMsgs or MaxBytes on the
	// stream bounds the index too); DefaultRetentionCheck when zero.
	RetentionCheck time.Duration
	// Review holds digests as drafts until an editor approves them.
	Review bool
	// EditorToken is the secret editors sign in with; review mode needs
	// it. It comes from the environment or a file, never from a flag.
	EditorToken string
	// WebSubHub is the hub feeds advertise and publish pings on every
	// change; none when empty. BuiltinHub serves one at /websub and
	// overrides it.
	WebSubHub  string
	BuiltinHub bool
	// Webhooks are the subscriptions to push each digest to.
	Webhooks []Webhook
}

// Deps are the publish role's collaborators.
type Deps struct {
	Bus      *bus.Bus
	Log      *slog.Logger
	Registry prometheus.Registerer
	// HTTPClient delivers webhooks and WebSub pings; a client with a 15s
	// timeout when nil.
	HTTPClient *http.Client
}

// Service is the publish role: it rebuilds its index from the DIGESTS
// stream with an ordered consumer and serves it. Replicas share nothing but
// the stream (and, in review mode, the review bucket), so any number of
// them serve identical feeds. Pushes (webhooks, WebSub) go through one
// durable consumer that the replicas share, so each happens once.
type Service struct {
	cfg   Config
	bus   *bus.Bus
	log   *slog.Logger
	index *Index
	push  *pusher
	hub   *hub

	caughtUp       atomic.Bool
	reviewCaughtUp atomic.Bool
	pushReady      atomic.Bool
	reviewKV       jetstream.KeyValue
	reviewOnce     sync.Once
	reviewErr      error
	// stream is the DIGESTS stream, which the index reads digests
	// again from; set by Run.
	stream atomic.Pointer[jetstream.Stream]
	// retainedFrom is DIGESTS' first sequence at the last retention
	// check (followRetention's alone).
	retainedFrom uint64

	digests   prometheus.Gauge
	received  prometheus.Counter
	responses *prometheus.CounterVec
}

// New returns a publish service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("publish: a NATS bus is required")
	}
	if cfg.Title == "" {
		cfg.Title = "bantin"
	}
	if cfg.Review && len(cfg.EditorToken) < 16 {
		return nil, errors.New("publish: review mode needs an editor token of at least 16 characters: set BANTIN_EDITOR_TOKEN or BANTIN_EDITOR_TOKEN_FILE")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	client := deps.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultDeliveryTimeout}
	}
	s := &Service{
		cfg: cfg,
		bus: deps.Bus,
		log: log.With("role", "publish"),
		digests: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bantin_publish_digests",
			Help: "Digests in this replica's index.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bantin_publish_messages_total",
			Help: "Messages read from the DIGESTS stream.",
		}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_publish_responses_total",
			Help: "Feed and page responses served from cache, by output and result (ok or not_modified); the 304 ratio is not_modified over all.",
		}, []string{"output", "result"}),
	}
	hubURL := cfg.WebSubHub
	if cfg.BuiltinHub {
		hubURL = trimSlash(cfg.BaseURL) + "/websub"
	}
	s.index = NewIndex(IndexOptions{
		BaseURL: cfg.BaseURL, Title: cfg.Title, MaxEntries: cfg.MaxEntries,
		Review: cfg.Review, Hub: hubURL, Logger: s.log,
		Loader: s.loadDigest, CacheSize: cfg.CacheSize, OutputCacheBytes: cfg.OutputCacheBytes,
		OnServe: func(output string, notModified bool) {
			result := "ok"
			if notModified {
				result = "not_modified"
			}
			s.responses.WithLabelValues(output, result).Inc()
		},
	})
	inMemory := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bantin_publish_digests_in_memory",
		Help: "Digests this replica's index holds in full; the others are read again from the DIGESTS stream when a page needs them.",
	}, func() float64 { return float64(s.index.inMemory()) })
	collectors := []prometheus.Collector{s.digests, s.received, s.responses, inMemory}
	if len(cfg.Webhooks) > 0 || hubURL != "" {
		p, err := newPusher(s, cfg.Webhooks, hubURL, client)
		if err != nil {
			return nil, err
		}
		s.push = p
		collectors = append(collectors, p.deliveries, p.failures)
	}
	if cfg.BuiltinHub {
		s.hub = newHub(s, client)
	}
	if deps.Registry != nil {
		for _, c := range collectors {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering publish metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Index is the digest index this service serves.
func (s *Service) Index() *Index { return s.index }

// Register mounts the feeds and pages on mux, and the review pages in
// review mode.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("/", s.index.Handler())
	if s.cfg.Review {
		s.registerReview(mux)
	}
	if s.hub != nil {
		mux.HandleFunc("POST /websub", s.hub.handleSubscribe)
	}
}

// Ready reports whether the index has caught up with the stream.
func (s *Service) Ready(ctx context.Context) error {
	if !s.caughtUp.Load() {
		return errors.New("publish index still catching up with the DIGESTS stream")
	}
	if s.cfg.Review && !s.reviewCaughtUp.Load() {
		return errors.New("publish still loading editors' decisions")
	}
	if s.push != nil && !s.pushReady.Load() {
		return errors.New("publish push consumer not set up yet")
	}
	return s.bus.Ready(ctx)
}

// Run follows the DIGESTS and DEADLETTER streams (and the review bucket in
// review mode) from their start, and pushes new digests, until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.Review {
		if _, err := s.reviewBucket(ctx); err != nil {
			return err
		}
	}
	stream, err := s.bus.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", model.StreamDigests, err)
	}
	s.stream.Store(&stream)
	if stream.CachedInfo().State.Msgs == 0 {
		s.caughtUp.Store(true)
	}
	stopDigests, err := s.follow(ctx, model.StreamDigests, s.handleDigestMsg)
	if err != nil {
		return err
	}
	defer stopDigests()
	stopDead, err := s.follow(ctx, model.StreamDeadLetter, s.handleDeadMsg)
	if err != nil {
		return err
	}
	defer stopDead()

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	retention := s.cfg.RetentionCheck
	if retention <= 0 {
		retention = DefaultRetentionCheck
	}
	wg.Add(1)
	go func() { defer wg.Done(); errc <- s.followRetention(ctx, retention) }()
	if s.cfg.Review {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.watchReviews(ctx) }()
	}
	if s.push != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.push.run(ctx) }()
	}
	if s.hub != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.hub.run(ctx) }()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		if errors.Is(runErr, context.Canceled) {
			runErr = nil
		}
		if runErr == nil {
			<-ctx.Done()
		}
	}
	cancel()
	wg.Wait()
	return runErr
}

// follow reads stream from its start with an ordered consumer.
func (s *Service) follow(ctx context.Context, stream string, handle func(jetstream.Msg)) (func(), error) {
	cons, err := s.bus.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("following %s: %w", stream, err)
	}
	cc, err := cons.Consume(handle)
	if err != nil {
		return nil, fmt.Errorf("consuming %s: %w", stream, err)
	}
	return func() { cc.Stop(); <-cc.Closed() }, nil
}

func (s *Service) handleDigestMsg(msg jetstream.Msg) {
	s.received.Inc()
	meta, metaErr := msg.Metadata()
	var seq uint64
	if metaErr == nil {
		seq = meta.Sequence.Stream
	}
	var d model.Digest
	if err := json.Unmarshal(msg.Data(), &d); err != nil || d.ID == "" {
		s.log.Warn("skipping a message that is not a digest", "subject", msg.Subject(), "err", err)
	} else if d.SchemaVersion > model.SchemaVersion {
		s.log.Warn("skipping a digest from a newer bantin", "id", d.ID, "schema_version", d.SchemaVersion)
	} else if s.index.PutAt(d, seq) {
		s.digests.Set(float64(s.index.Len()))
	}
	if metaErr == nil && meta.NumPending == 0 && !s.caughtUp.Load() {
		s.caughtUp.Store(true)
		s.log.Info("publish index caught up", "digests", s.index.Len())
	}
}

// loadDigest reads the digest at seq from the DIGESTS stream again: the
// index's Loader.
func (s *Service) loadDigest(ctx context.Context, seq uint64) (model.Digest, error) {
	stream := s.stream.Load()
	if stream == nil {
		return model.Digest{}, errors.New("the DIGESTS stream is not open: publish is not running")
	}
	msg, err := (*stream).GetMsg(ctx, seq)
	if err != nil {
		return model.Digest{}, fmt.Errorf("getting message %d from %s: %w", seq, model.StreamDigests, err)
	}
	var d model.Digest
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return model.Digest{}, fmt.Errorf("decoding digest at %s sequence %d: %w", model.StreamDigests, seq, err)
	}
	return d, nil
}

func (s *Service) handleDeadMsg(msg jetstream.Msg) {
	var dl model.DeadLetter
	if err := json.Unmarshal(msg.Data(), &dl); err != nil {
		s.log.Warn("skipping a dead letter that does not decode", "subject", msg.Subject(), "err", err)
		return
	}
	if meta, err := msg.Metadata(); err == nil {
		dl.Sequence = meta.Sequence.Stream
	}
	s.index.PutFailure(dl)
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
