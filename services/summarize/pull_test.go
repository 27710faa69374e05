package summarize_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize/extractive"
)

// TestWorkerPullsOnlyForFreeHandlers checks that batched pulls never take
// more reports than the worker has handlers for (2×Concurrency): a report
// taken beyond them would wait unacknowledged, not kept alive, in a
// client buffer. A backlog is published first, so every pull could be
// filled.
func TestWorkerPullsOnlyForFreeHandlers(t *testing.T) {
	b := startBus(t, bus.Topology{})
	const reports, handlers = 24, 4 // worker() runs Concurrency 2
	for i := range reports {
		r := report(t)
		r.ID = fmt.Sprintf("%016x%048x", i+1, 0)
		if _, err := b.PublishReport(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	// Reports in flight, counted on the wire as the worker sees them: a
	// delivery (a message whose reply is this consumer's ack subject)
	// adds one, an ack, nak or term the worker sends takes one away. The
	// server's NumAckPending would lag: it still counts an ack the worker
	// sent until the server has processed it. Both subscriptions feed one
	// channel from the connection's read loop, so the order is the wire's.
	ackPrefix := "$JS.ACK." + model.StreamReports + "." + model.ConsumerSummarize + "."
	wire := make(chan *nats.Msg, 4096)
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
	worker(t, b, &slow{took: 100 * time.Millisecond, ext: extractive.New(extractive.Config{})})
	ctx := context.Background()
	digests, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		t.Fatal(err)
	}
	inFlight, most, settled := 0, 0, 0
	deadline := time.After(30 * time.Second)
	for settled < reports {
		select {
		case m := <-wire:
			switch {
			case strings.HasPrefix(m.Reply, ackPrefix):
				inFlight++
				most = max(most, inFlight)
			case strings.HasPrefix(m.Subject, ackPrefix):
				if body := string(m.Data); body == "" || body == "+ACK" || strings.HasPrefix(body, "-NAK") || strings.HasPrefix(body, "+TERM") {
					inFlight--
					if body != "+ACK" && body != "" {
						t.Errorf("the worker sent %q for a report", body)
					}
					settled++
				}
			}
		case <-deadline:
			t.Fatalf("%d of %d reports settled after 30 s, %d in flight", settled, reports, inFlight)
		}
	}
	if most > handlers {
		t.Errorf("%d reports in flight at once, the worker has %d handlers", most, handlers)
	}
	if most < 2 {
		t.Errorf("at most %d report in flight with a backlog: the worker did not use its handlers", most)
	}
	if st, err := digests.Info(ctx); err != nil || st.State.Msgs != reports {
		t.Errorf("%v digests (err %v), want %d", st.State.Msgs, err, reports)
	}
}

// TestWorkerTakesReportsAtOnceWhenIdle checks that a report published
// while the worker waits on an empty queue is taken at once by the pull
// out for several reports, not when that pull expires (2 s) or fills up.
func TestWorkerTakesReportsAtOnceWhenIdle(t *testing.T) {
	b := startBus(t, bus.Topology{})
	worker(t, b, extractive.New(extractive.Config{}))
	got := make(chan time.Time, 8)
	sub, err := b.NC.Subscribe(model.SubjectDigestPrefix+">", func(*nats.Msg) { got <- time.Now() })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for i := range 3 {
		// Let the worker's pull for all its free handlers go out first.
		time.Sleep(300 * time.Millisecond)
		r := report(t)
		r.ID = fmt.Sprintf("%016x%048x", i+100, 0)
		sent := time.Now()
		if _, err := b.PublishReport(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			if took := at.Sub(sent); took > 1500*time.Millisecond {
				t.Errorf("report %d digested %v after it was published: it waited for the pull to expire", i+1, took)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("report %d: no digest after 10 s", i+1)
		}
	}
}
