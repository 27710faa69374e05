package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPullWait bounds one pull request when Puller.Wait is not set.
const DefaultPullWait = 2 * time.Second

// Puller feeds a work-queue consumer's messages to at most Handlers
// goroutines, pulling only as many messages as there are free handlers.
// A message fetched ahead into a client buffer would sit there
// unacknowledged, not kept alive, while the handlers outlast AckWait (an
// LLM failing for minutes, a long OCR job): it would be redelivered
// meanwhile and count toward MaxDeliver without ever being worked on.
//
// Each pull waits for Batch free handlers (the others still busy) unless
// the last pull came back short, because one pull request costs the client
// and the server several times what a message's share of a batch does
// (bench/bus).
type Puller struct {
	Consumer jetstream.Consumer
	// Handlers bounds the messages being handled at once.
	Handlers int
	// Batch is how many handlers a pull waits to be free while the queue
	// is busy; 1 (or less) pulls for any free handler.
	Batch int
	// Wait bounds one pull request; DefaultPullWait when zero. A pull is
	// not cancelled by shutdown (a message the server sent to a cancelled
	// pull would wait out AckWait), so shutdown waits at most this long.
	Wait time.Duration
	// Name names the consumer in errors, such as "REPORTS/summarize".
	Name string
	Log  *slog.Logger
}

// Run pulls until ctx is done. take is called for each message in the
// order they arrive and returns the work to run on a handler goroutine of
// its own; wg counts those goroutines, so the caller decides how long to
// wait for them. A message that arrives once ctx is done is nak'ed, so
// another worker takes it at once.
func (p Puller) Run(ctx context.Context, wg *sync.WaitGroup, take func(jetstream.Msg) func()) {
	handlers := max(1, p.Handlers)
	sem := make(chan struct{}, handlers)
	batch := max(1, p.Batch)
	for ctx.Err() == nil {
		free := reserve(ctx, sem, batch)
		if free == 0 {
			continue
		}
		got, err := p.pull(ctx, free, func(msg jetstream.Msg) {
			if ctx.Err() != nil {
				<-sem
				_ = msg.Nak()
				return
			}
			work := take(msg)
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				work()
			}()
		})
		for range free - got {
			<-sem
		}
		// A pull that came back short found the queue drained: ask for
		// whatever is free next time rather than waiting for a batch.
		batch = max(1, p.Batch)
		if got < free {
			batch = 1
		}
		if err != nil && ctx.Err() == nil {
			if p.Log != nil {
				p.Log.Warn("pulling messages", "consumer", p.Name, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// reserve takes handler tokens from sem: at least want of them (or all
// there are, if fewer), waiting for them, then any more free at once. It
// returns how many it took; none when ctx ended first.
func reserve(ctx context.Context, sem chan struct{}, want int) int {
	want = min(want, cap(sem))
	n := 0
	for n < want {
		select {
		case sem <- struct{}{}:
			n++
		case <-ctx.Done():
			for range n {
				<-sem
			}
			return 0
		}
	}
	for n < cap(sem) {
		select {
		case sem <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

// pull asks for up to n messages in one pull request and hands each to
// take as it arrives, within Wait. It returns how many came; a pull that
// expires with fewer is not an error.
func (p Puller) pull(ctx context.Context, n int, take func(jetstream.Msg)) (int, error) {
	wait := p.Wait
	if wait <= 0 {
		wait = DefaultPullWait
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	b, err := p.Consumer.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, fmt.Errorf("pulling from %s: %w", p.Name, err)
	}
	got := 0
	for msg := range b.Messages() {
		got++
		take(msg)
	}
	switch err := b.Error(); {
	case err == nil, errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, jetstream.ErrNoHeartbeat):
		return got, nil
	default:
		return got, fmt.Errorf("pulling from %s: %w", p.Name, err)
	}
}
