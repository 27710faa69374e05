package summarize_test

import (
	"context"
	"fmt"
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
	worker(t, b, &slow{took: 100 * time.Millisecond, ext: extractive.New(extractive.Config{})})
	ctx := context.Background()
	cons, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		ci, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, ci.NumAckPending)
		if ci.NumPending == 0 && ci.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports pending, %d in flight after 30 s", ci.NumPending, ci.NumAckPending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if most > handlers {
		t.Errorf("%d reports in flight at once, the worker has %d handlers", most, handlers)
	}
	if most < 2 {
		t.Errorf("at most %d report in flight with a backlog: the worker did not use its handlers", most)
	}
	digests, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		t.Fatal(err)
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
