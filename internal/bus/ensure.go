package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStream creates the stream from want when it is missing. When it
// exists, only what bantin needs is changed: its subjects are added if
// absent and its replicas set to the configured number. Limits an operator
// tuned (MaxAge, MaxBytes, MaxMsgs, the duplicate window, discard policy,
// placement…) are kept, and nothing is sent when nothing changes.
func (b *Bus) ensureStream(ctx context.Context, want jetstream.StreamConfig) error {
	s, err := b.JS.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := b.JS.CreateStream(ctx, want); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	merged, changed := mergeStreamConfig(have, want)
	if !changed {
		return nil
	}
	if _, err := b.JS.UpdateStream(ctx, merged); err != nil {
		return fmt.Errorf("updating stream %s (subjects %v, replicas %d): %w", want.Name, merged.Subjects, merged.Replicas, err)
	}
	return nil
}

// mergeStreamConfig returns have with want's subjects and replicas, and
// whether that differs from have.
func mergeStreamConfig(have, want jetstream.StreamConfig) (jetstream.StreamConfig, bool) {
	out := have
	out.Subjects = slices.Clone(have.Subjects)
	changed := false
	for _, subj := range want.Subjects {
		if !slices.Contains(out.Subjects, subj) {
			out.Subjects = append(out.Subjects, subj)
			changed = true
		}
	}
	if want.Replicas > 0 && out.Replicas != want.Replicas {
		out.Replicas = want.Replicas
		changed = true
	}
	return out, changed
}

// ensureKV opens the bucket, creating it when missing; an existing bucket
// keeps its settings (TTL, history, size limits) and only gets the
// configured replicas.
func (b *Bus) ensureKV(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := b.JS.CreateKeyValue(ctx, cfg)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketExists) {
		return nil, err
	}
	if err := b.ensureStream(ctx, jetstream.StreamConfig{Name: "KV_" + cfg.Bucket, Replicas: cfg.Replicas}); err != nil {
		return nil, err
	}
	return b.JS.KeyValue(ctx, cfg.Bucket)
}

// ensureObjectStore is ensureKV for an object store.
func (b *Bus) ensureObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obj, err := b.JS.CreateObjectStore(ctx, cfg)
	if err == nil {
		return obj, nil
	}
	if !errors.Is(err, jetstream.ErrBucketExists) {
		return nil, err
	}
	if err := b.ensureStream(ctx, jetstream.StreamConfig{Name: "OBJ_" + cfg.Bucket, Replicas: cfg.Replicas}); err != nil {
		return nil, err
	}
	return b.JS.ObjectStore(ctx, cfg.Bucket)
}

// EnsureConsumer creates the durable consumer want on stream when it is
// missing. When it exists, only what bantin relies on is changed: its
// filter subject and replicas. What an operator tuned (AckWait,
// MaxAckPending, MaxDeliver, BackOff…) is kept, except a field that still
// holds the value an earlier bantin release set, given non-zero in
// earlier (AckWait, MaxAckPending): that one takes want's value. Nothing
// is sent when nothing changes.
func (b *Bus) EnsureConsumer(ctx context.Context, stream string, want, earlier jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := b.JS.Consumer(ctx, stream, want.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = b.JS.CreateConsumer(ctx, stream, want)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			// Another replica created it meanwhile.
			c, err = b.JS.Consumer(ctx, stream, want.Durable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening consumer %s on %s: %w", want.Durable, stream, err)
	}
	merged, changed := mergeConsumerConfig(c.CachedInfo().Config, want, earlier)
	if !changed {
		return c, nil
	}
	c, err = b.JS.UpdateConsumer(ctx, stream, merged)
	if err != nil {
		return nil, fmt.Errorf("updating consumer %s on %s (filter %s, replicas %d, ack wait %s): %w", want.Durable, stream, merged.FilterSubject, merged.Replicas, merged.AckWait, err)
	}
	return c, nil
}

// mergeConsumerConfig returns have with want's filter subject and replicas,
// and want's AckWait and MaxAckPending where have still holds earlier's,
// and whether that differs from have.
func mergeConsumerConfig(have, want, earlier jetstream.ConsumerConfig) (jetstream.ConsumerConfig, bool) {
	out := have
	if want.FilterSubject != "" && len(out.FilterSubjects) == 0 {
		out.FilterSubject = want.FilterSubject
	}
	if want.Replicas > 0 {
		out.Replicas = want.Replicas
	}
	if earlier.AckWait > 0 && out.AckWait == earlier.AckWait {
		out.AckWait = want.AckWait
	}
	if earlier.MaxAckPending > 0 && out.MaxAckPending == earlier.MaxAckPending {
		out.MaxAckPending = want.MaxAckPending
	}
	changed := out.FilterSubject != have.FilterSubject || out.Replicas != have.Replicas ||
		out.AckWait != have.AckWait || out.MaxAckPending != have.MaxAckPending
	return out, changed
}
