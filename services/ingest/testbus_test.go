package ingest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/bantin/bantin/internal/bus"
)

// testBus starts an embedded nats-server with JetStream in a temporary
// directory and connects to it.
func testBus(t *testing.T) *bus.Bus {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(context.Background(), ns.ClientURL(), "ingest-test", bus.Topology{}, log)
	if err != nil {
		ns.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return b
}

// testService is an ingest service on a fresh embedded NATS.
func testService(t *testing.T, cfg Config) (*Service, *bus.Bus) {
	t.Helper()
	b := testBus(t)
	if cfg.HostRate == 0 {
		cfg.HostRate = 1000
	}
	s, err := New(cfg, Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}
