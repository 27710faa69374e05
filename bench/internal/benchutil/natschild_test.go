package benchutil

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/bus"
)

// TestMain lets the test binary be the nats-server child, as a benchmark
// binary is.
func TestMain(m *testing.M) {
	if store := os.Getenv(EnvNATSStore); store != "" {
		if err := ServeNATS(store, ServeHooks{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestNATSChild(t *testing.T) {
	child, err := StartNATSChild(t.TempDir())
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
	cpu0, err := child.CPU()
	if err != nil {
		t.Fatalf("child's CPU time: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Work for the server: the bus's streams and buckets, and messages
	// through JetStream until the child has spent CPU time that shows in
	// /proc (a tick is 10 ms).
	b, err := bus.Connect(ctx, child.URL, "benchutil-test", bus.Topology{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connecting to the child at %s: %v", child.URL, err)
	}
	defer b.Close()
	var cpu time.Duration
	for i := 0; cpu <= cpu0; i++ {
		if ctx.Err() != nil {
			t.Fatalf("the child's CPU time stayed at %v while serving", cpu0)
		}
		if err := b.MarkDigested(ctx, "r"+strconv.Itoa(i), "d"); err != nil {
			t.Fatalf("storing in the child's JetStream: %v", err)
		}
		if cpu, err = child.CPU(); err != nil {
			t.Fatalf("child's CPU time: %v", err)
		}
	}
	if rss, err := child.RSS(); err != nil || rss <= 0 {
		t.Fatalf("child's VmRSS: %v MiB, %v", rss, err)
	}
	stopped = true
	// SIGTERM is a clean shutdown, not a death by signal.
	if err := child.Stop(); err != nil {
		t.Fatalf("stopping the child: %v", err)
	}
	if _, err := child.CPU(); err == nil {
		t.Fatalf("child %d still running after stop", child.PID())
	}
}

func TestProcCPU(t *testing.T) {
	tests := []struct {
		name string
		pid  string
		ok   bool
	}{
		{name: "self", pid: "self", ok: true},
		{name: "no such process", pid: "999999999", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProcCPU(tt.pid)
			if (err == nil) != tt.ok {
				t.Fatalf("ProcCPU(%q) error = %v, want ok %v", tt.pid, err, tt.ok)
			}
			if err != nil {
				return
			}
			// Burn 100 ms of CPU: ProcCPU must see it, and agree with
			// getrusage to within a few ticks.
			for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
			}
			after, err := ProcCPU(tt.pid)
			if err != nil {
				t.Fatal(err)
			}
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
				t.Fatal(err)
			}
			rusage := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			if after-got < 50*time.Millisecond {
				t.Errorf("ProcCPU(self) grew by %v over 100 ms of busy loop", after-got)
			}
			if d := rusage - after; d < -30*time.Millisecond || d > 30*time.Millisecond {
				t.Errorf("ProcCPU(self) = %v, getrusage says %v", after, rusage)
			}
		})
	}
}
