package publish

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// DefaultRetentionCheck is how often a publish replica asks DIGESTS for
// its first sequence when Config.RetentionCheck is not set.
const DefaultRetentionCheck = time.Minute

// DropBefore removes from the Index every digest it read from the stream
// at a sequence below first, the stream's first sequence: the digests the
// stream no longer holds because an operator's MaxAge, MaxMsgs or MaxBytes
// removed them. Their pages would fail to read them again, and their slim
// entries would grow the Index for good. Digests Put without a sequence
// stay. It returns how many it removed.
func (x *Index) DropBefore(first uint64) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.settle()
	n := 0
	x.order = slices.DeleteFunc(x.order, func(k sortKey) bool {
		e := x.entries[k.id]
		if e == nil || e.seq == 0 || e.seq >= first {
			return false
		}
		delete(x.entries, k.id)
		x.full.remove(k.id)
		n++
		return true
	})
	if n == 0 {
		return 0
	}
	if cap(x.order) > 2*len(x.order)+1024 {
		// Let go of the backing array a large drop left mostly empty.
		x.order = slices.Clone(x.order)
	}
	x.gen++
	return n
}

// remove forgets the digest id.
func (s *fullStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(id)
}

// followRetention drops from the index, every interval, the digests the
// DIGESTS stream no longer holds, until ctx is done. A failed look at the
// stream is logged and tried again at the next tick.
func (s *Service) followRetention(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := s.applyRetention(ctx); err != nil {
			s.log.Warn("checking what DIGESTS still holds", "err", err)
		}
	}
}

// applyRetention drops the digests below DIGESTS' first sequence.
func (s *Service) applyRetention(ctx context.Context) error {
	stream := s.stream.Load()
	if stream == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := (*stream).Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s's state: %w", model.StreamDigests, err)
	}
	if info.State.FirstSeq <= s.retainedFrom {
		return nil // nothing left the stream since the last look
	}
	s.retainedFrom = info.State.FirstSeq
	if n := s.index.DropBefore(info.State.FirstSeq); n > 0 {
		s.digests.Set(float64(s.index.Len()))
		s.log.Info("dropped digests the stream no longer holds", "stream", model.StreamDigests, "dropped", n, "first_seq", info.State.FirstSeq, "digests", s.index.Len())
	}
	return nil
}
