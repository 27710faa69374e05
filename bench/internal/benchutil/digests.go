package benchutil

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bantin/bantin/internal/model"
)

// DigestWatch counts the digests published on a connection until n have
// come.
type DigestWatch struct {
	n    int64
	got  atomic.Int64
	done chan struct{}
	sub  *nats.Subscription
}

// WatchDigests subscribes to every digest subject on nc, flushed, so that
// no digest published after it returns is missed.
func WatchDigests(nc *nats.Conn, n int) (*DigestWatch, error) {
	w := &DigestWatch{n: int64(n), done: make(chan struct{})}
	sub, err := nc.Subscribe(model.SubjectDigestPrefix+">", func(*nats.Msg) {
		if w.got.Add(1) == w.n {
			close(w.done)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to digests: %w", err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribing to digests: %w", err)
	}
	w.sub = sub
	return w, nil
}

// Wait waits until n digests have come, or fails after timeout saying how
// many did.
func (w *DigestWatch) Wait(timeout time.Duration) error {
	select {
	case <-w.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("only %d of %d digests after %s", w.got.Load(), w.n, timeout)
	}
}

// Close unsubscribes.
func (w *DigestWatch) Close() { _ = w.sub.Unsubscribe() }
