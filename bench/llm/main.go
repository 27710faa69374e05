// Command llm measures the summarize worker with the LLM backend against
// the OpenAI-compatible test server (internal/llmtest) answering after a
// fixed latency L: reports/s at LLM concurrency C next to the ideal C/L;
// the same with a requests-per-minute limit below C/L, checking the limit
// is never exceeded; and a second pass over digested reports, which must
// be served from the LLM_CACHE bucket with zero calls.
//
//	go run ./bench/llm [-latency 300ms] [-concurrency 4] [-rpm 300] [-reps 3]
//
// Run it from the repository root (it reads the sample report of
// services/summarize/extractive/testdata).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/llm"
)

func main() {
	latency := flag.Duration("latency", 300*time.Millisecond, "latency L of every answer of the test server")
	conc := flag.Int("concurrency", 4, "LLM calls in flight C (--llm-concurrency); the worker's --concurrency is the same")
	rpm := flag.Int("rpm", 300, "requests-per-minute limit of the second scenario (--llm-rpm); pick it below 60·C/L so it binds")
	rounds := flag.Int("rounds", 15, "reports per run = rounds × C")
	rpmReports := flag.Int("rpm-reports", 0, "reports of the RPM scenario (default rounds × C); make the run longer than a minute (e.g. -rpm 120 -rpm-reports 140) to check the busiest 60-s window against the limit")
	reps := flag.Int("reps", 3, "repetitions; the median is reported")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/llm [flags]   (from the repository root)\n\nLLM worker throughput vs C/L against the OpenAI-compatible test server, the RPM limit, and cache hits.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *rpmReports <= 0 {
		*rpmReports = *rounds * *conc
	}
	if err := run(*latency, *conc, *rpm, *rounds, *rpmReports, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench/llm:", err)
		os.Exit(1)
	}
}

func run(lat time.Duration, conc, rpm, rounds, rpmReports, reps int) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "bantin-bench-llm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), "bench-llm", bus.Topology{}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	cache, err := b.LLMCache(ctx)
	if err != nil {
		return err
	}

	ideal := float64(conc) / lat.Seconds()
	fmt.Printf("machine: %s\n", benchutil.Machine())
	fmt.Printf("test server latency L = %v, C = %d, ideal C/L = %.2f reports/s, %d reports per run, %d repetitions\n\n", lat, conc, ideal, rounds*conc, reps)

	var free, limited []float64
	var calls, limCalls, hits, hitCalls int
	var busiest60, busiest1 int
	var span time.Duration
	for rep := 0; rep < reps; rep++ {
		// 1. No RPM limit: the latency and C bound throughput.
		reports, err := benchutil.SampleReports(rounds*conc, fmt.Sprintf("free%d", rep))
		if err != nil {
			return err
		}
		var clk benchutil.Clock
		ts := llmtest.New(clk.Handler(), llmtest.Options{Latency: lat})
		sum, err := newLLM(ts.URL(), conc, 0, cache, log)
		if err != nil {
			ts.Close()
			return err
		}
		rate, err := throughput(ctx, b, sum, conc, reports, log)
		if err != nil {
			ts.Close()
			return err
		}
		free = append(free, rate)
		calls = ts.Count()

		// 3. Cache: the same reports again, straight to the backend (as a
		// redelivery after the digest was cached would): no calls.
		before := ts.Count()
		for _, r := range reports {
			if _, err := sum.Summarize(ctx, r); err != nil {
				ts.Close()
				return err
			}
		}
		hits, hitCalls = len(reports), ts.Count()-before
		ts.Close()

		// 2. An RPM limit below C/L binds.
		reports, err = benchutil.SampleReports(rpmReports, fmt.Sprintf("rpm%d", rep))
		if err != nil {
			return err
		}
		var clk2 benchutil.Clock
		ts2 := llmtest.New(clk2.Handler(), llmtest.Options{Latency: lat})
		sum2, err := newLLM(ts2.URL(), conc, rpm, cache, log)
		if err != nil {
			ts2.Close()
			return err
		}
		rate, err = throughput(ctx, b, sum2, conc, reports, log)
		ts2.Close()
		if err != nil {
			return err
		}
		limited = append(limited, rate)
		limCalls = ts2.Count()
		times := clk2.Times()
		busiest60 = max(busiest60, benchutil.MaxInWindow(times, time.Minute))
		busiest1 = max(busiest1, benchutil.MaxInWindow(times, time.Second))
		if len(times) > 1 {
			span = times[len(times)-1].Sub(times[0])
		}
		fmt.Printf("rep %d: %.2f reports/s free, %.2f reports/s with --llm-rpm %d\n", rep+1, free[rep], limited[rep], rpm)
	}
	mFree, mLim := benchutil.Median(free), benchutil.Median(limited)
	rpmIdeal := min(ideal, float64(rpm)/60)
	burst := max(1, rpm/60)
	fmt.Printf("\n| scenario (median of %d) | reports/s | baseline | ratio | calls |\n|---|---|---|---|---|\n", reps)
	fmt.Printf("| C=%d, L=%v, no RPM limit | %.2f | C/L = %.2f | %.3f (target ≥ 0.9) | %d for %d reports |\n", conc, lat, mFree, ideal, mFree/ideal, calls, rounds*conc)
	fmt.Printf("| C=%d, L=%v, --llm-rpm %d | %.2f | min(C/L, RPM/60) = %.2f | %.3f | %d for %d reports |\n", conc, lat, rpm, mLim, rpmIdeal, mLim/rpmIdeal, limCalls, rpmReports)
	fmt.Printf("| cache hit (same reports again) | – | 0 calls | – | %d for %d reports |\n", hitCalls, hits)
	fmt.Printf("\nRPM limit %d: busiest 1-s window %d requests (token bucket: %.2f/s + burst %d); busiest 60-s window %d requests (limit %d; the last run's requests spanned %.0f s)\n",
		rpm, busiest1, float64(max(1, rpm-burst))/60, burst, busiest60, rpm, span.Seconds())
	if span >= time.Minute && busiest60 > rpm {
		fmt.Printf("RPM EXCEEDED: %d requests in one 60-s window, limit %d\n", busiest60, rpm)
	}
	return nil
}

func newLLM(url string, conc, rpm int, cache llm.Cache, log *slog.Logger) (*llm.Summarizer, error) {
	return llm.New(llm.Config{
		BaseURL: url, Model: "bench-model", Concurrency: conc, RequestsPerMinute: rpm,
		CallTimeout: 30 * time.Second,
	}, llm.Deps{Cache: cache, Fallback: extractive.New(extractive.Config{}), Log: log})
}

// throughput runs a summarize worker with sum over reports and returns
// reports/s from the first publish to the last digest.
func throughput(ctx context.Context, b *bus.Bus, sum summarize.Summarizer, conc int, reports []*model.Report, log *slog.Logger) (float64, error) {
	n := len(reports)
	watch, err := benchutil.WatchDigests(b.NC, n)
	if err != nil {
		return 0, err
	}
	defer watch.Close()
	svc, err := summarize.New(summarize.Config{Concurrency: conc}, summarize.Deps{Bus: b, Summarizer: sum, Log: log})
	if err != nil {
		return 0, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	werr := make(chan error, 1)
	go func() { werr <- svc.Run(wctx) }()
	for svc.Ready(ctx) != nil {
		time.Sleep(5 * time.Millisecond)
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
	rate := float64(n) / time.Since(start).Seconds()
	stop()
	return rate, <-werr
}
