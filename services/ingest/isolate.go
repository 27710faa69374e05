package ingest

import (
	"context"

	"github.com/bantin/bantin/services/ingest/extract"
)

// extractRaw runs the extractor in a child process when cfg.Isolation
// names one (a panic, hang or memory blow-up then costs only the child),
// else in this process.
func (r *Reader) extractRaw(ctx context.Context, raw []byte) (*extract.Document, error) {
	if r.cfg.Isolation.Exe != "" {
		return r.cfg.Isolation.Extract(ctx, raw)
	}
	return extract.Extract(ctx, raw)
}
