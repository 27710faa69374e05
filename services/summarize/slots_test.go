package summarize_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

// slow is a backend that takes a while per report, honours its context
// and records how many calls run at once.
type slow struct {
	took time.Duration
	ext  *extractive.Summarizer

	mu             sync.Mutex
	now, most      int
	calls, expired int
}

func (s *slow) Name() string { return "extractive" }

func (s *slow) Summarize(ctx context.Context, r *model.Report) (*model.Digest, error) {
	s.mu.Lock()
	s.now++
	s.calls++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.now--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.took):
	case <-ctx.Done():
		s.mu.Lock()
		s.expired++
		s.mu.Unlock()
		return nil, ctx.Err()
	}
	return s.ext.Summarize(ctx, r)
}

// TestWorkerSlotsAndTimeout checks that no more than Concurrency reports
// are summarised at once although more are in flight, and that Timeout
// bounds the summarising itself: reports queued behind slow ones are not
// timed out, retried or dead-lettered.
func TestWorkerSlotsAndTimeout(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		reports     int
	}{
		{name: "one slot", concurrency: 1, reports: 3},
		{name: "two slots", concurrency: 2, reports: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBus(t, bus.Topology{})
			sum := &slow{took: 300 * time.Millisecond, ext: extractive.New(extractive.Config{})}
			// Each report takes 300 ms; the last in line waits 600 ms or
			// more for its slot, beyond the 450 ms Timeout.
			w, err := summarize.New(summarize.Config{Concurrency: tt.concurrency, ShutdownGrace: time.Second, Timeout: 450 * time.Millisecond},
				summarize.Deps{Bus: b, Summarizer: sum, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("worker: %v", err)
				}
			}()
			for i := range tt.reports {
				r := report(t)
				r.ID = fmt.Sprintf("%016x%048x", i+1, 0) // the digest id is the first 16 digits
				if _, err := b.PublishReport(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				info, err := b.JS.Stream(context.Background(), model.StreamDigests)
				if err != nil {
					t.Fatal(err)
				}
				st, err := info.Info(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if int(st.State.Msgs) == tt.reports {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d digests after 20 s", st.State.Msgs, tt.reports)
				}
				time.Sleep(50 * time.Millisecond)
			}
			sum.mu.Lock()
			defer sum.mu.Unlock()
			if sum.most > tt.concurrency {
				t.Errorf("%d reports summarised at once, Concurrency is %d", sum.most, tt.concurrency)
			}
			if sum.calls != tt.reports || sum.expired != 0 {
				t.Errorf("%d calls (%d timed out) for %d reports: a report waiting for a slot was timed out and retried", sum.calls, sum.expired, tt.reports)
			}
			dead, err := b.JS.Stream(context.Background(), model.StreamDeadLetter)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := dead.Info(context.Background()); err != nil || st.State.Msgs != 0 {
				t.Errorf("dead letters: %v (err %v), want none", st.State.Msgs, err)
			}
		})
	}
}
