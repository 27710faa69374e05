package benchutil

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
)

func TestWatchDigests(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w, err := WatchDigests(nc, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for range 2 {
		if err := nc.Publish(model.SubjectDigestPrefix+"test.site", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Wait(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "only 2 of 3 digests") {
		t.Errorf("Wait after 2 of 3 digests: %v, want an error saying only 2 of 3 came", err)
	}
	if err := nc.Publish(model.SubjectDigestPrefix+"test.site", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(10 * time.Second); err != nil {
		t.Errorf("Wait after 3 of 3 digests: %v", err)
	}
}
