package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
)

// TestMain lets the test binary be the nats-server child, as the soak
// binary is.
func TestMain(m *testing.M) {
	if store := os.Getenv(benchutil.EnvNATSStore); store != "" {
		if err := serveNATS(store); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestNATSChild(t *testing.T) {
	store := t.TempDir()
	profile := t.TempDir() + "/heap"
	child, err := startNATSChild(store, profile)
	if err != nil {
		t.Fatalf("starting the nats-server child: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = child.Stop()
		}
	})
	if child.PID() == os.Getpid() {
		t.Fatalf("nats-server runs in the test's own process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, child.URL, "soak-test", bus.Topology{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connecting to the child at %s: %v", child.URL, err)
	}
	stored, err := streamStates(ctx, b)
	b.Close()
	if err != nil {
		t.Fatalf("listing streams: %v", err)
	}
	if len(stored) == 0 {
		t.Fatalf("no streams after bus setup")
	}
	own, err := benchutil.VmRSS("self")
	if err != nil || own <= 0 {
		t.Fatalf("own VmRSS: %v MiB, %v", own, err)
	}
	rss, err := benchutil.VmRSS(strconv.Itoa(child.PID()))
	if err != nil || rss <= 0 {
		t.Fatalf("child's VmRSS: %v MiB, %v", rss, err)
	}
	child.profileQ1()
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(profile + ".q1"); err != nil; _, err = os.Stat(profile + ".q1") {
		if time.Now().After(deadline) {
			t.Fatalf("no first-quartile heap profile from the child: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// SIGTERM is a clean shutdown, not a death by signal.
	stopped = true
	if err := child.Stop(); err != nil {
		t.Fatalf("stopping the child: %v", err)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Fatalf("the child's heap profile at stop: %v", err)
	}
	if _, err := benchutil.VmRSS(strconv.Itoa(child.PID())); err == nil {
		t.Fatalf("child %d still running after stop", child.PID())
	}
}

func TestSlope(t *testing.T) {
	tests := []struct {
		name    string
		samples []sample
		from    int
		want    float64
	}{
		{name: "flat", samples: []sample{{reports: 0, rss: 50}, {reports: 1000, rss: 50}, {reports: 2000, rss: 50}}, want: 0},
		{name: "1 MiB per 1,000 reports from 1,000", samples: []sample{{reports: 0, rss: 10}, {reports: 1000, rss: 40}, {reports: 2000, rss: 41}, {reports: 3000, rss: 42}}, from: 1000, want: 0.001},
		{name: "one sample", samples: []sample{{reports: 5, rss: 1}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slope(tt.samples, tt.from, func(s sample) float64 { return s.rss })
			if d := got - tt.want; d > 1e-12 || d < -1e-12 {
				t.Errorf("slope = %v, want %v", got, tt.want)
			}
		})
	}
}
