package publish

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

func TestPushConsumerKeepsOperatorSettings(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	ctx := context.Background()
	hooks := newHookReceiver(t, "")
	tests := []struct {
		name string
		// preset is the consumer found at start; none when nil.
		preset        *jetstream.ConsumerConfig
		ackWait       time.Duration
		maxAckPending int
		maxDeliver    int
	}{
		{"created", nil, pushAckWait, 64, -1},
		{"earlier release's AckWait", &jetstream.ConsumerConfig{AckWait: 2 * time.Minute, MaxAckPending: 64}, pushAckWait, 64, -1},
		{"operator's limits", &jetstream.ConsumerConfig{AckWait: 45 * time.Second, MaxAckPending: 16, MaxDeliver: 30}, 45 * time.Second, 16, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.JS.DeleteConsumer(ctx, model.StreamDigests, ConsumerPush); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				t.Fatal(err)
			}
			if tt.preset != nil {
				cfg := pushConsumerConfig(1)
				cfg.AckWait, cfg.MaxAckPending, cfg.MaxDeliver = tt.preset.AckWait, tt.preset.MaxAckPending, tt.preset.MaxDeliver
				if _, err := b.JS.CreateConsumer(ctx, model.StreamDigests, cfg); err != nil {
					t.Fatal(err)
				}
			}
			r := startReplica(t, ns, Config{Webhooks: []Webhook{{Name: "newsroom", URL: hooks.srv.URL}}})
			defer r.stop()
			c, err := b.JS.Consumer(ctx, model.StreamDigests, ConsumerPush)
			if err != nil {
				t.Fatal(err)
			}
			got := c.CachedInfo().Config
			if got.AckWait != tt.ackWait || got.MaxAckPending != tt.maxAckPending || got.MaxDeliver != tt.maxDeliver {
				t.Errorf("consumer has AckWait %s, MaxAckPending %d, MaxDeliver %d; want %s, %d, %d",
					got.AckWait, got.MaxAckPending, got.MaxDeliver, tt.ackWait, tt.maxAckPending, tt.maxDeliver)
			}
			if got.FilterSubject != model.SubjectDigestPrefix+">" || got.AckPolicy != jetstream.AckExplicitPolicy {
				t.Errorf("consumer filters %q with ack policy %v", got.FilterSubject, got.AckPolicy)
			}
		})
	}
}

// TestSlowWebhookKeptInProgress: a webhook answering after three times the
// consumer's AckWait is pushed once and the digest is not redelivered
// (the handler reports it in progress), and a digest behind it is pushed
// meanwhile.
func TestSlowWebhookKeptInProgress(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	ctx := context.Background()
	// An operator's short AckWait, kept by the replica; keep-alives follow it.
	cfg := pushConsumerConfig(1)
	cfg.AckWait = time.Second
	if _, err := b.JS.CreateConsumer(ctx, model.StreamDigests, cfg); err != nil {
		t.Fatal(err)
	}
	bacGiang, quangNinh, _ := sampleDigests(t)
	slowID := bacGiang.ID + ".v1"
	var mu sync.Mutex
	got := map[string]int{}
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Bantin-Delivery")
		if id == slowID {
			time.Sleep(3 * time.Second)
		}
		mu.Lock()
		got[id]++
		order = append(order, id)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	startReplica(t, ns, Config{Webhooks: []Webhook{{Name: "slow", URL: srv.URL}}})
	publishDigest(t, b, bacGiang)
	time.Sleep(100 * time.Millisecond)
	publishDigest(t, b, quangNinh)
	waitFor(t, "both deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= 2 })
	time.Sleep(1500 * time.Millisecond) // past AckWait: room for a redelivery

	c, err := b.JS.Consumer(ctx, model.StreamDigests, ConsumerPush)
	if err != nil {
		t.Fatal(err)
	}
	info := c.CachedInfo()
	mu.Lock()
	defer mu.Unlock()
	if got[slowID] != 1 || got[quangNinh.ID+".v1"] != 1 || len(order) != 2 {
		t.Errorf("deliveries %v, want each digest once", got)
	}
	if order[0] != quangNinh.ID+".v1" {
		t.Errorf("deliveries in order %v: the fast digest waited for the slow one", order)
	}
	// Each delivery, first or again, takes a consumer sequence.
	if info.Delivered.Consumer != 2 || info.NumAckPending != 0 || info.AckFloor.Stream != info.Delivered.Stream {
		t.Errorf("push consumer: %d deliveries of 2 digests, %d ack pending, acked up to %d of %d; want 2, all acked",
			info.Delivered.Consumer, info.NumAckPending, info.AckFloor.Stream, info.Delivered.Stream)
	}
}

func TestRetryBus(t *testing.T) {
	tests := []struct {
		name string
		// lost is how many tries get no answer (they wait for their deadline).
		lost     int
		parent   time.Duration
		wantErr  bool
		tries    int
		maxTries int
	}{
		{"answered", 0, time.Minute, false, 1, 1},
		{"lost in a failover", 3, time.Minute, false, 4, 4},
		{"never answered", 1000, time.Minute, true, busTries, busTries},
		{"handling's deadline", 1000, 120 * time.Millisecond, true, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pusher{busTimeout: 50 * time.Millisecond, busWait: 5 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), tt.parent)
			defer cancel()
			tries := 0
			var longest time.Duration
			start := time.Now()
			err := p.retryBus(ctx, func(ctx context.Context) error {
				tries++
				if tries <= tt.lost {
					t0 := time.Now()
					<-ctx.Done()
					longest = max(longest, time.Since(t0))
					return ctx.Err()
				}
				return nil
			})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, context.DeadlineExceeded)) {
				t.Errorf("err = %v, want error %v (a deadline)", err, tt.wantErr)
			}
			if tries < tt.tries || tries > tt.maxTries {
				t.Errorf("%d tries, want %d–%d", tries, tt.tries, tt.maxTries)
			}
			if longest > time.Second {
				t.Errorf("a lost try took %s, want its own deadline of %s", longest, p.busTimeout)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("retrying took %s", el)
			}
		})
	}
}
