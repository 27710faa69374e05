package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

// TestPullerTakesOnlyForFreeHandlers runs a Puller with 1 and 3 slow
// handlers over a backlog and counts the messages in flight on the wire
// (a delivery adds one, the handler's ack takes it away): never more than
// the handlers, every message handled once, and Run returns once its
// context is done.
func TestPullerTakesOnlyForFreeHandlers(t *testing.T) {
	for _, handlers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d handlers", handlers), func(t *testing.T) {
			b := startBus(t)
			ctx := context.Background()
			const n = 12
			for i := range n {
				r := &model.Report{SchemaVersion: model.SchemaVersion, ID: fmt.Sprintf("%064x", i+1), Source: model.Source{Site: "puller.test"}}
				if _, err := b.PublishReport(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			cons, err := b.EnsureSummarizeConsumer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ackPrefix := "$JS.ACK." + model.StreamReports + "." + model.ConsumerSummarize + "."
			wire := make(chan *nats.Msg, 1024)
			for _, subject := range []string{"_INBOX.>", ackPrefix + ">"} {
				sub, err := b.NC.ChanSubscribe(subject, wire)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = sub.Unsubscribe() })
			}
			if err := b.NC.Flush(); err != nil {
				t.Fatal(err)
			}

			runCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var mu sync.Mutex
			seen := map[string]int{}
			ran := make(chan struct{})
			go func() {
				defer close(ran)
				Puller{Consumer: cons, Handlers: handlers, Batch: handlers, Name: "REPORTS/summarize"}.Run(runCtx, &wg, func(msg jetstream.Msg) func() {
					return func() {
						time.Sleep(30 * time.Millisecond)
						mu.Lock()
						seen[string(msg.Data())]++
						mu.Unlock()
						_ = msg.Ack()
					}
				})
			}()
			inFlight, most, acked := 0, 0, 0
			deadline := time.After(30 * time.Second)
			for acked < n {
				select {
				case m := <-wire:
					switch {
					case strings.HasPrefix(m.Reply, ackPrefix):
						inFlight++
						most = max(most, inFlight)
					case strings.HasPrefix(m.Subject, ackPrefix):
						inFlight--
						acked++
					}
				case <-deadline:
					t.Fatalf("%d of %d messages acked after 30 s", acked, n)
				}
			}
			stop()
			select {
			case <-ran:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10 s of its context's end")
			}
			wg.Wait()
			if most > handlers {
				t.Errorf("%d messages in flight at once for %d handlers", most, handlers)
			}
			if handlers > 1 && most < 2 {
				t.Errorf("at most %d message in flight with a backlog and %d handlers", most, handlers)
			}
			if len(seen) != n {
				t.Errorf("%d distinct messages handled, want %d", len(seen), n)
			}
			for _, c := range seen {
				if c != 1 {
					t.Errorf("a message was handled %d times", c)
				}
			}
		})
	}
}
