package k8s

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
)

// TestSummarizeDrainsOnSIGTERM is scale-in as Kubernetes does it: a
// summarize worker (the real binary, in its own process) holds reports
// whose LLM calls never answer, and more are queued behind them; it gets
// SIGTERM. It must exit well within the pod's grace period, and every
// report must be back on the queue at once — acked or nak'ed, none left to
// wait out AckWait.
func TestSummarizeDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bantin binary and waits out the 20 s drain")
	}
	bin := filepath.Join(t.TempDir(), "bantin")
	build := exec.Command("go", "build", "-o", bin, "github.com/bantin/bantin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ns := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ackWait = 10 * time.Minute // far longer than the test: a report left un-nak'ed would not come back
	b, err := bus.Connect(ctx, ns.ClientURL(), "k8s-test", bus.Topology{AckWait: ackWait}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const reports = 6
	for i := range reports {
		r := &model.Report{
			SchemaVersion: model.SchemaVersion, ID: fmt.Sprintf("report-%d", i),
			Source: model.Source{Site: "example.gov.vn", AttachmentName: fmt.Sprintf("bao-cao-%d.pdf", i)},
			Paragraphs: []model.Paragraph{{Page: 1, Text: strings.Repeat(
				"Năm 2023, tổng sản phẩm trên địa bàn tỉnh tăng 7,52% so với năm trước. Thu ngân sách đạt 18.245,6 tỷ đồng. ", 6)}},
			CreatedAt: time.Now(),
		}
		if _, err := b.PublishReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	var calls atomic.Int64
	llm := llmtest.New(func(llmtest.Request) llmtest.Reply {
		calls.Add(1)
		return llmtest.Hang()
	}, llmtest.Options{})
	defer llm.Close()

	var logs bytes.Buffer
	cmd := exec.Command(bin, "summarize",
		"--nats", ns.ClientURL(), "--http", "127.0.0.1:0",
		"--concurrency", "2", "--ack-wait", ackWait.String(),
		"--llm-base-url", llm.URL(), "--llm-model", "test", "--llm-no-fallback")
	cmd.Env = append(os.Environ(), "BANTIN_LOG_LEVEL=debug")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	cons, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until both slots hold a report at the (hanging) LLM.
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker made %d LLM calls in 30s; want 2 in flight\n%s", calls.Load(), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending < 2 {
		t.Fatalf("num_ack_pending = %d before SIGTERM; want the 2 in flight (and any prefetched)", info.NumAckPending)
	}
	t.Logf("before SIGTERM: %d in flight at the LLM, num_ack_pending %d, num_pending %d", calls.Load(), info.NumAckPending, info.NumPending)

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	const grace = 150 * time.Second // terminationGracePeriodSeconds of bantin-summarize
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("bantin summarize exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(grace):
		t.Fatalf("bantin summarize still running %s after SIGTERM: Kubernetes would SIGKILL it and its reports would wait out AckWait\n%s", grace, logs.String())
	}
	took := time.Since(start)
	t.Logf("drained and exited %s after SIGTERM", took.Round(time.Millisecond))

	info, err = cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Nak'ed reports stay in num_ack_pending until the server redelivers
	// them, so KEDA still counts them as lag; what matters is that they can
	// be taken again at once.
	t.Logf("after exit: num_ack_pending %d, num_pending %d, num_redelivered %d", info.NumAckPending, info.NumPending, info.NumRedelivered)
	if lag := int(info.NumAckPending) + int(info.NumPending); lag != reports {
		t.Errorf("lag after the drain = %d; want all %d reports still counted", lag, reports)
	}
	// Every report is deliverable again now, not after AckWait.
	batch, err := cons.Fetch(reports, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		got++
		_ = m.Nak()
	}
	if got != reports {
		t.Errorf("after the drain %d of %d reports could be fetched at once; the rest wait out AckWait (%s)\n%s", got, reports, ackWait, logs.String())
	}
}
