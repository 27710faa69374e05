// Command scaleout measures reports/s with 1, 2 and 4 `bantin summarize`
// processes sharing one NATS server (the durable consumer "summarize", as
// KEDA would scale a Deployment's replicas), with the LLM backend against
// the OpenAI-compatible test server, whose fixed latency is the
// bottleneck. The baseline is linear scaling from one process.
//
//	go run ./bench/scaleout [-workers 1,2,4] [-concurrency 2] [-latency 300ms] [-reps 3]
//
// It builds the bantin binary first (go build) and runs it; run it from
// the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
)

func main() {
	workers := flag.String("workers", "1,2,4", "numbers of worker processes to compare")
	conc := flag.Int("concurrency", 2, "--concurrency and --llm-concurrency of each worker")
	lat := flag.Duration("latency", 300*time.Millisecond, "latency of every answer of the LLM test server")
	rounds := flag.Int("rounds", 15, "reports per run = rounds × workers × concurrency")
	reps := flag.Int("reps", 3, "repetitions; the median is reported")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/scaleout [flags]   (from the repository root)\n\nReports/s with 1, 2, 4 bantin summarize processes on one NATS, LLM test server latency as the bottleneck.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var ks []int
	for _, f := range strings.Split(*workers, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			fmt.Fprintf(os.Stderr, "bench/scaleout: -workers %q: want a list of positive numbers like 1,2,4\n", *workers)
			os.Exit(2)
		}
		ks = append(ks, k)
	}
	if err := run(ks, *conc, *lat, *rounds, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scaleout:", err)
		os.Exit(1)
	}
}

func run(ks []int, conc int, lat time.Duration, rounds, reps int) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "bantin-bench-scaleout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "bantin")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("building bantin (go build -o %s .): %w\n%s", exe, err, out)
	}
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: filepath.Join(dir, "nats")}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), "bench-scaleout", bus.Topology{}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	var clk benchutil.Clock
	ts := llmtest.New(clk.Handler(), llmtest.Options{Latency: lat})
	defer ts.Close()

	perWorker := float64(conc) / lat.Seconds()
	fmt.Printf("machine: %s\n", benchutil.Machine())
	fmt.Printf("LLM test server latency %v; each worker --concurrency %d --llm-concurrency %d (ideal %.2f reports/s per worker); %d repetitions\n\n", lat, conc, conc, perWorker, reps)

	res := map[int][]float64{}
	for rep := 0; rep < reps; rep++ {
		for _, k := range ks {
			before := ts.Count()
			n := rounds * k * conc
			rate, err := measure(ctx, b, exe, srv.ClientURL(), ts.URL(), k, conc, n, fmt.Sprintf("r%dk%d", rep, k))
			if err != nil {
				return err
			}
			if calls := ts.Count() - before; calls != n {
				fmt.Printf("note: %d LLM calls for %d reports\n", calls, n)
			}
			res[k] = append(res[k], rate)
			fmt.Printf("rep %d, %d worker(s): %.2f reports/s\n", rep+1, k, rate)
		}
	}
	one := benchutil.Median(res[ks[0]]) / float64(ks[0])
	fmt.Printf("\n| workers (median of %d) | reports/s | ideal k·C/L | linear from %d worker(s) | ratio to linear |\n|---|---|---|---|---|\n", reps, ks[0])
	for _, k := range ks {
		m := benchutil.Median(res[k])
		fmt.Printf("| %d | %.2f | %.2f | %.2f | %.3f (target ≥ 0.9) |\n", k, m, float64(k)*perWorker, one*float64(k), m/(one*float64(k)))
	}
	return nil
}

// measure starts k worker processes, waits until they are ready, publishes
// n reports and returns reports/s until the last digest.
func measure(ctx context.Context, b *bus.Bus, exe, natsURL, llmURL string, k, conc, n int, salt string) (float64, error) {
	reports, err := benchutil.SampleReports(n, salt)
	if err != nil {
		return 0, err
	}
	watch, err := benchutil.WatchDigests(b.NC, n)
	if err != nil {
		return 0, err
	}
	defer watch.Close()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	var addrs []string
	for i := 0; i < k; i++ {
		addr, err := freeAddr()
		if err != nil {
			return 0, err
		}
		cmd := exec.Command(exe, "summarize", "--nats", natsURL, "--http", addr,
			"--concurrency", strconv.Itoa(conc), "--llm-concurrency", strconv.Itoa(conc),
			"--llm-base-url", llmURL, "--llm-model", "bench-model", "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("starting worker: %w", err)
		}
		procs = append(procs, cmd)
		addrs = append(addrs, addr)
	}
	for _, a := range addrs {
		if err := waitReady(a, 30*time.Second); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for _, r := range reports {
		if _, err := b.PublishReport(ctx, r); err != nil {
			return 0, err
		}
	}
	if err := watch.Wait(5 * time.Minute); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("worker at %s not ready within %v", addr, within)
}
