package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/bus"
)

// jsz is the part of nats-server's /jsz answer that KEDA's nats-jetstream
// scaler reads (its jetStreamEndpointResponse).
type jsz struct {
	AccountDetails []struct {
		Name    string `json:"name"`
		Streams []struct {
			Name      string `json:"name"`
			Consumers []struct {
				Name          string `json:"name"`
				NumPending    int64  `json:"num_pending"`
				NumAckPending int64  `json:"num_ack_pending"`
			} `json:"consumer_detail"`
		} `json:"stream_detail"`
	} `json:"account_details"`
}

// kedaLag queries monitor as KEDA does and returns num_pending +
// num_ack_pending of consumer on stream in account; found is false when
// KEDA would not find that consumer (and fall back to the stream's last
// sequence, scaling without bound).
func kedaLag(t testing.TB, monitor, account, stream, consumer string) (lag int64, found bool) {
	t.Helper()
	u := fmt.Sprintf("http://%s/jsz?acc=%s&config=true&consumers=true", monitor, url.QueryEscape(account))
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	var j jsz
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatalf("decoding %s: %v", u, err)
	}
	for _, a := range j.AccountDetails {
		for _, s := range a.Streams {
			if s.Name != stream {
				continue
			}
			for _, c := range s.Consumers {
				if c.Name == consumer {
					return c.NumPending + c.NumAckPending, true
				}
			}
		}
	}
	return 0, false
}

// startNATS runs a real nats-server with JetStream and monitoring.
func startNATS(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		ServerName: "k8s-test", Host: "127.0.0.1", Port: -1,
		HTTPHost: "127.0.0.1", HTTPPort: -1,
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("starting nats-server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestScaledObjectsSeeConsumerLag creates bantin's topology with its own
// setup code on a real nats-server, queues reports, takes some in flight,
// and reads each ScaledObject's stream and consumer from /jsz exactly as
// KEDA does: the consumer must exist and its lag must count both.
func TestScaledObjectsSeeConsumerLag(t *testing.T) {
	scheme := newScheme(t)
	for _, o := range overlays {
		b := index(render(t, scheme, o.dir))
		for _, so := range b.scaled {
			t.Run(o.dir+"/"+so.Name, func(t *testing.T) {
				ns := startNATS(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				bb, err := bus.Connect(ctx, ns.ClientURL(), "k8s-test", bus.Topology{}, quietLog())
				if err != nil {
					t.Fatal(err)
				}
				defer bb.Close()
				const queued, inFlight = 7, 3
				tr := so.Spec.Triggers[0].Metadata
				cons, err := bb.JS.Consumer(ctx, tr["stream"], tr["consumer"])
				if err != nil {
					t.Fatalf("bantin's setup created no consumer %q on stream %q: %v", tr["consumer"], tr["stream"], err)
				}
				// Queue work on the subjects that consumer takes.
				subject := strings.TrimSuffix(cons.CachedInfo().Config.FilterSubject, ">") + "example_gov_vn"
				for i := range queued {
					if _, err := bb.JS.Publish(ctx, subject, []byte(fmt.Sprintf(`{"id":"report-%d"}`, i))); err != nil {
						t.Fatal(err)
					}
				}
				// The server updates a consumer's counts just after a publish or
				// an ack is acknowledged; KEDA polls, so the test polls too.
				waitLag := func(want int64) (int64, bool) {
					lag, found := kedaLag(t, ns.MonitorAddr().String(), tr["account"], tr["stream"], tr["consumer"])
					for deadline := time.Now().Add(3 * time.Second); found && lag != want && time.Now().Before(deadline); {
						time.Sleep(50 * time.Millisecond)
						lag, found = kedaLag(t, ns.MonitorAddr().String(), tr["account"], tr["stream"], tr["consumer"])
					}
					return lag, found
				}
				lag, found := waitLag(queued)
				if !found {
					t.Fatalf("KEDA would find no consumer %q on stream %q in account %q: it would fall back to the stream's last sequence and scale without bound", tr["consumer"], tr["stream"], tr["account"])
				}
				if lag != queued {
					t.Errorf("lag before any worker = %d; want %d queued", lag, queued)
				}
				// A worker takes some and has not acked them yet.
				batch, err := cons.Fetch(inFlight, jetstream.FetchMaxWait(5*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				var got []jetstream.Msg
				for m := range batch.Messages() {
					got = append(got, m)
				}
				if len(got) != inFlight {
					t.Fatalf("fetched %d messages; want %d", len(got), inFlight)
				}
				if lag, _ := waitLag(queued); lag != queued {
					t.Errorf("lag with %d in flight = %d; want %d (pending + ack pending)", inFlight, lag, queued)
				}
				for _, m := range got {
					if err := m.DoubleAck(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if lag, _ := waitLag(queued - inFlight); lag != queued-inFlight {
					t.Errorf("lag after %d acks = %d; want %d", inFlight, lag, queued-inFlight)
				}
			})
		}
	}
}
