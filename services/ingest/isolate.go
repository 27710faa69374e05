package ingest

import (
	"context"

	"github.com/bantin/bantin/services/ingest/extract"
)

// newPool returns the pool of extraction child processes when
// cfg.Isolation names a child, else nil (parsing in process).
func newPool(cfg Config) *extract.Pool {
	if cfg.Isolation.Exe == "" {
		return nil
	}
	return extract.NewPool(cfg.Isolation)
}

// extractRaw runs the extractor in one of the pool's child processes when
// cfg.Isolation names one (a panic, hang or memory blow-up then costs only
// that child), else in this process.
func (r *Reader) extractRaw(ctx context.Context, raw []byte) (*extract.Document, error) {
	if r.pool != nil {
		return r.pool.Extract(ctx, raw)
	}
	return extract.Extract(ctx, raw)
}

// Close stops the Reader's extraction child processes, if any. A Reader
// used after Close extracts in a one-off child per document.
func (r *Reader) Close() error {
	if r.pool == nil {
		return nil
	}
	return r.pool.Close()
}

// Close stops the service's extraction child processes (Run does this
// when it returns).
func (s *Service) Close() error { return s.reader.Close() }
