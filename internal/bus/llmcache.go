package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketLLMCache is the key-value bucket of digests written by the LLM
// backend, keyed by report id, model, prompt version and language, so that
// redeliveries and re-runs never pay for a call twice.
const BucketLLMCache = "LLM_CACHE"

// LLMCacheTTL is how long a cached LLM digest is kept.
const LLMCacheTTL = 90 * 24 * time.Hour

// KVCache is a cache in a JetStream key-value bucket.
type KVCache struct{ kv jetstream.KeyValue }

// LLMCache creates (or opens) the LLM_CACHE bucket.
func (b *Bus) LLMCache(ctx context.Context) (*KVCache, error) {
	kv, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketLLMCache,
		Description: "bantin LLM digests by report, model and prompt version",
		Storage:     jetstream.FileStorage,
		Replicas:    b.Topology.Replicas,
		TTL:         LLMCacheTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("creating key-value bucket %s: %w", BucketLLMCache, err)
	}
	return &KVCache{kv: kv}, nil
}

// Get returns the value under key; a missing key is (nil, false, nil).
func (c *KVCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s from %s: %w", key, BucketLLMCache, err)
	}
	return e.Value(), true, nil
}

// Put stores value under key.
func (c *KVCache) Put(ctx context.Context, key string, value []byte) error {
	if _, err := c.kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("writing %s to %s: %w", key, BucketLLMCache, err)
	}
	return nil
}
