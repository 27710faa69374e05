// Package bus is bantin's NATS JetStream plumbing: connecting (to an
// external cluster or to an embedded server), creating the streams, buckets
// and consumers every role relies on, and small helpers to publish reports,
// digests and dead letters with the ids that make delivery idempotent.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

// Topology is what Setup creates. Zero values take the defaults below.
type Topology struct {
	// Replicas of every stream, bucket and consumer: 1 for a single server,
	// 3 on a production JetStream cluster.
	Replicas int
	// AckWait is how long a summarize worker may hold a report before
	// JetStream redelivers it. Workers call InProgress during long calls.
	AckWait time.Duration
	// MaxDeliver bounds redeliveries of one report before it is dead-lettered.
	MaxDeliver int
	// DuplicateWindow is the server-side Nats-Msg-Id de-duplication window.
	// Consumers are idempotent beyond it (the DIGESTED bucket).
	DuplicateWindow time.Duration
}

// Defaults for Topology.
const (
	DefaultAckWait         = 2 * time.Minute
	DefaultMaxDeliver      = 5
	DefaultDuplicateWindow = 10 * time.Minute
)

func (t Topology) withDefaults() Topology {
	if t.Replicas <= 0 {
		t.Replicas = 1
	}
	if t.AckWait <= 0 {
		t.AckWait = DefaultAckWait
	}
	if t.MaxDeliver <= 0 {
		t.MaxDeliver = DefaultMaxDeliver
	}
	if t.DuplicateWindow <= 0 {
		t.DuplicateWindow = DefaultDuplicateWindow
	}
	return t
}

// Bus is an open connection with handles on bantin's streams and buckets.
type Bus struct {
	NC          *nats.Conn
	JS          jetstream.JetStream
	Attachments jetstream.ObjectStore
	Digested    jetstream.KeyValue
	// Seen is the SOURCES_SEEN bucket of the source poller.
	Seen     jetstream.KeyValue
	Topology Topology
}

// Connect dials url and returns a Bus after making sure the topology exists.
// name identifies the client in the server's monitoring ("bantin-ingest").
func Connect(ctx context.Context, url, name string, topo Topology, log *slog.Logger) (*Bus, error) {
	return ConnectWith(ctx, url, ConnectOptions{Name: name}, topo, log)
}

// Open sets up the topology on an existing connection.
func Open(ctx context.Context, nc *nats.Conn, topo Topology) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	b := &Bus{NC: nc, JS: js, Topology: topo.withDefaults()}
	if err := b.setup(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Close drains the connection: pending publishes are flushed and
// subscriptions finish their in-flight messages.
func (b *Bus) Close() error {
	if b.NC.IsClosed() {
		return nil
	}
	if err := b.NC.Drain(); err != nil {
		return fmt.Errorf("draining NATS connection: %w", err)
	}
	// Drain is asynchronous; wait for it so callers can tear down the server.
	for i := 0; i < 100 && !b.NC.IsClosed(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// setup creates or updates every stream, bucket and consumer. It is
// idempotent, so every role runs it at start.
func (b *Bus) setup(ctx context.Context) error {
	t := b.Topology
	streams := []jetstream.StreamConfig{
		{
			Name:        model.StreamReports,
			Description: "bantin reports waiting to be summarised (work queue)",
			Subjects:    []string{model.SubjectReportPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    t.Replicas,
			Duplicates:  t.DuplicateWindow,
		},
		{
			// Its own stream, not a second subject on REPORTS: Nats-Msg-Id
			// de-duplication is per stream, so a report keeps its id on
			// both hops, and the OCR backlog has its own limits and lag.
			Name:        model.StreamOCR,
			Description: "bantin reports with scanned pages waiting for OCR (work queue)",
			Subjects:    []string{model.SubjectOCRPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    t.Replicas,
			Duplicates:  t.DuplicateWindow,
		},
		{
			Name:        model.StreamDigests,
			Description: "bantin digests, full history; publish replicas rebuild their index from it",
			Subjects:    []string{model.SubjectDigestPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    t.Replicas,
			Duplicates:  t.DuplicateWindow,
		},
		{
			Name:        model.StreamDeadLetter,
			Description: "bantin messages a stage gave up on, with the reason",
			Subjects:    []string{model.SubjectDeadPrefix + ">"},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    t.Replicas,
			MaxAge:      90 * 24 * time.Hour,
		},
	}
	for _, cfg := range streams {
		if err := b.ensureStream(ctx, cfg); err != nil {
			return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}
	obj, err := b.ensureObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      model.BucketAttachment,
		Description: "raw attachment bytes by sha256, and report text too large for a message",
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	})
	if err != nil {
		return fmt.Errorf("creating object store %s: %w", model.BucketAttachment, err)
	}
	b.Attachments = obj
	kv, err := b.ensureKV(ctx, jetstream.KeyValueConfig{
		Bucket:      model.BucketDigested,
		Description: "report id -> digest id, for idempotent summarising beyond the duplicate window",
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	})
	if err != nil {
		return fmt.Errorf("creating key-value bucket %s: %w", model.BucketDigested, err)
	}
	b.Digested = kv
	seen, err := b.ensureKV(ctx, jetstream.KeyValueConfig{
		Bucket:      model.BucketSourcesSeen,
		Description: "what polled sources have seen: URL -> validators and report id",
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	})
	if err != nil {
		return fmt.Errorf("creating key-value bucket %s: %w", model.BucketSourcesSeen, err)
	}
	b.Seen = seen
	// Create the consumer if missing, so reports queue up for it (and KEDA
	// sees its lag) before any worker runs; only summarize workers update
	// it, with their own --ack-wait and --max-deliver.
	if _, err := b.JS.CreateConsumer(ctx, model.StreamReports, SummarizeConsumerConfig(t)); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("creating consumer %s on %s: %w", model.ConsumerSummarize, model.StreamReports, err)
	}
	if _, err := b.JS.CreateConsumer(ctx, model.StreamOCR, OCRConsumerConfig(t)); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("creating consumer %s on %s: %w", model.ConsumerOCR, model.StreamOCR, err)
	}
	return nil
}

// EnsureOCRConsumer creates or updates the OCR consumer with this bus's
// topology.
func (b *Bus) EnsureOCRConsumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := b.JS.CreateOrUpdateConsumer(ctx, model.StreamOCR, OCRConsumerConfig(b.Topology))
	if err != nil {
		return nil, fmt.Errorf("updating consumer %s on %s: %w", model.ConsumerOCR, model.StreamOCR, err)
	}
	return c, nil
}

// OCRConsumerConfig is the durable pull consumer OCR workers share. KEDA's
// nats-jetstream trigger names stream OCR and consumer ocr. Workers call
// InProgress after every page, so AckWait bounds one page, not a report.
func OCRConsumerConfig(t Topology) jetstream.ConsumerConfig {
	t = t.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       model.ConsumerOCR,
		Description:   "bantin OCR workers",
		FilterSubject: model.SubjectOCRPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxDeliver:    t.MaxDeliver,
		MaxAckPending: 64,
		Replicas:      t.Replicas,
	}
}

// PublishOCR puts r on the OCR work queue (bantin.ocr.<site>) with its id
// as Nats-Msg-Id; r.OCRPending says which pages to recognise.
func (b *Bus) PublishOCR(ctx context.Context, r *model.Report) (duplicate bool, err error) {
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("encoding report %s: %w", r.ID, err)
	}
	ack, err := b.JS.Publish(ctx, model.OCRSubject(r.Source.Site), data, jetstream.WithMsgID(r.ID))
	if err != nil {
		return false, fmt.Errorf("publishing report %s for OCR: %w", r.ID, err)
	}
	return ack.Duplicate, nil
}

// EnsureSummarizeConsumer creates or updates the summarize consumer with
// this bus's topology.
func (b *Bus) EnsureSummarizeConsumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := b.JS.CreateOrUpdateConsumer(ctx, model.StreamReports, SummarizeConsumerConfig(b.Topology))
	if err != nil {
		return nil, fmt.Errorf("updating consumer %s on %s: %w", model.ConsumerSummarize, model.StreamReports, err)
	}
	return c, nil
}

// SummarizeConsumerConfig is the durable pull consumer summarize workers
// share. KEDA's nats-jetstream trigger must name this stream and consumer.
func SummarizeConsumerConfig(t Topology) jetstream.ConsumerConfig {
	t = t.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       model.ConsumerSummarize,
		Description:   "bantin summarize workers",
		FilterSubject: model.SubjectReportPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxDeliver:    t.MaxDeliver,
		MaxAckPending: 256,
		Replicas:      t.Replicas,
	}
}

// PublishReport puts r on the REPORTS stream with its id as Nats-Msg-Id.
// duplicate reports whether the server had already seen that id inside its
// duplicate window.
func (b *Bus) PublishReport(ctx context.Context, r *model.Report) (duplicate bool, err error) {
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("encoding report %s: %w", r.ID, err)
	}
	ack, err := b.publishRetrying(ctx, model.ReportSubject(r.Source.Site), data, r.ID)
	if err != nil {
		return false, fmt.Errorf("publishing report %s: %w", r.ID, err)
	}
	return ack.Duplicate, nil
}

// PublishDigest puts d on the DIGESTS stream. The message id includes the
// version, so a revision is a new message and a redelivery is not.
func (b *Bus) PublishDigest(ctx context.Context, d *model.Digest) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding digest %s: %w", d.ID, err)
	}
	msgID := fmt.Sprintf("digest:%s:v%d", d.ID, d.Version)
	if _, err := b.publishRetrying(ctx, model.DigestSubject(d.Source.Site), data, msgID); err != nil {
		return fmt.Errorf("publishing digest %s: %w", d.ID, err)
	}
	return nil
}

// PublishAttempts bounds the tries of one report or digest publish while
// NATS restarts or elects a leader; between tries the wait doubles from
// 100ms to 2s (about 8 s of waiting, plus each try's own timeout).
const PublishAttempts = 8

// publishRetrying publishes with msgID, trying again with the same id (so
// the server de-duplicates a publish whose ack was lost) while the error
// is one a reconnect or a new leader can fix.
func (b *Bus) publishRetrying(ctx context.Context, subject string, data []byte, msgID string) (*jetstream.PubAck, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ack, err := b.JS.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
		if err == nil || attempt >= PublishAttempts || ctx.Err() != nil || !publishRetryable(err) {
			return ack, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (after %d tries: %w)", ctx.Err(), attempt, err)
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// publishRetryable reports whether a failed publish may succeed on another
// try: timeouts, no responders and a reconnecting connection may; the
// server's refusal (an API error) and a closed connection do not.
func publishRetryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return false
	}
	return !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubject) && !errors.Is(err, nats.ErrMaxPayload)
}

// PublishDead files a dead letter (FileDead without an original).
func (b *Bus) PublishDead(ctx context.Context, dl model.DeadLetter) error {
	return b.FileDead(ctx, dl, nil)
}

// DigestedID returns the digest id recorded for a report, if any.
func (b *Bus) DigestedID(ctx context.Context, reportID string) (string, bool, error) {
	e, err := b.Digested.Get(ctx, reportID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("looking up report %s in %s: %w", reportID, model.BucketDigested, err)
	}
	return string(e.Value()), true, nil
}

// MarkDigested records that reportID has its digest.
func (b *Bus) MarkDigested(ctx context.Context, reportID, digestID string) error {
	if _, err := b.Digested.Put(ctx, reportID, []byte(digestID)); err != nil {
		return fmt.Errorf("recording report %s as digested: %w", reportID, err)
	}
	return nil
}

// textRefPrefix names report text stored in the object store.
const textRefPrefix = "text/"

// MaxInlineText is the largest encoded report that travels inline; larger
// reports carry their paragraphs in the object store (NATS' default
// max_payload is 1 MiB).
const MaxInlineText = 512 << 10

// OffloadText moves r's paragraphs to the object store when the encoded
// report would be larger than MaxInlineText.
func (b *Bus) OffloadText(ctx context.Context, r *model.Report) error {
	if encodedBound(r.Paragraphs) <= MaxInlineText {
		return nil // fits for sure: no need to encode it to know
	}
	data, err := json.Marshal(r.Paragraphs)
	if err != nil {
		return fmt.Errorf("encoding paragraphs of %s: %w", r.ID, err)
	}
	if len(data) <= MaxInlineText {
		return nil
	}
	ref := textRefPrefix + r.ID + ".json"
	if _, err := b.Attachments.PutBytes(ctx, ref, data); err != nil {
		return fmt.Errorf("storing text of %s: %w", r.ID, err)
	}
	r.TextRef, r.Paragraphs = ref, nil
	return nil
}

// encodedBound is an upper bound of the JSON encoding's length of ps:
// encoding/json turns one byte of text into at most six (\u00XX), and a
// paragraph's page number, keys and punctuation take under 48 bytes; no
// paragraphs at all is "null".
func encodedBound(ps []model.Paragraph) int {
	n := 4
	for _, p := range ps {
		n += 6*len(p.Text) + 48
	}
	return n
}

// LoadText fills r.Paragraphs from the object store when r.TextRef is set.
func (b *Bus) LoadText(ctx context.Context, r *model.Report) error {
	if r.TextRef == "" {
		return nil
	}
	data, err := b.Attachments.GetBytes(ctx, r.TextRef)
	if err != nil {
		return fmt.Errorf("loading text %s: %w", r.TextRef, err)
	}
	if err := json.Unmarshal(data, &r.Paragraphs); err != nil {
		return fmt.Errorf("decoding text %s: %w", r.TextRef, err)
	}
	return nil
}

// StoreAttachment keeps the raw bytes under their id unless already there.
func (b *Bus) StoreAttachment(ctx context.Context, id, name string, raw []byte) error {
	if _, err := b.Attachments.GetInfo(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("checking attachment %s: %w", id, err)
	}
	meta := jetstream.ObjectMeta{Name: id, Description: name}
	if _, err := b.Attachments.Put(ctx, meta, bytesReader(raw)); err != nil {
		return fmt.Errorf("storing attachment %s (%s): %w", name, id, err)
	}
	return nil
}

// Ready reports whether the connection is up and the streams exist.
func (b *Bus) Ready(ctx context.Context) error {
	if !b.NC.IsConnected() {
		return errors.New("not connected to NATS")
	}
	for _, s := range []string{model.StreamReports, model.StreamOCR, model.StreamDigests, model.StreamDeadLetter} {
		if _, err := b.JS.Stream(ctx, s); err != nil {
			return fmt.Errorf("stream %s: %w", s, err)
		}
	}
	return nil
}
