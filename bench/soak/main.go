// Command soak pushes many reports through an in-process `all` stack
// (embedded nats-server on a file store, ingest, summarize with the
// extractive backend, publish) and samples the process's resident memory
// (VmRSS from /proc/self/status), Go heap and goroutines every -every
// reports, to show that memory stays flat under sustained load. It prints
// the series and the ratio of the largest RSS sample to the sample at the
// first quartile, and checks every report came out as exactly one digest.
//
//	go run ./bench/soak [-n 10000] [-every 500] [-uploaders 2]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/publish"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
)

func main() {
	n := flag.Int("n", 10000, "reports to push")
	every := flag.Int("every", 500, "sample memory every this many reports queued")
	uploaders := flag.Int("uploaders", 2, "concurrent uploaders")
	conc := flag.Int("concurrency", 2, "summarize worker concurrency (the role's default)")
	withPublish := flag.Bool("publish", true, "run the publish role too (its index keeps every digest in memory, by design: pages and search); -publish=false measures ingest and summarize alone")
	memprof := flag.String("memprofile", "", "write a heap profile at the end to this file (go tool pprof)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/soak [flags]\n\nSustained load through an in-process ingest+summarize+publish stack; prints RSS, heap and goroutines every -every reports.\nLinux only (reads /proc/self/status).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*n, *every, *uploaders, *conc, *withPublish, *memprof); err != nil {
		fmt.Fprintln(os.Stderr, "bench/soak:", err)
		os.Exit(1)
	}
}

// sample is one memory reading.
type sample struct {
	reports, digests int
	rss, heap        float64 // MiB
	goroutines       int
	at               time.Duration
}

func run(n, every, uploaders, conc int, withPublish bool, memprof string) error {
	if n <= 0 || every <= 0 || uploaders <= 0 {
		return errors.New("-n, -every and -uploaders must be positive")
	}
	if _, err := vmRSS(); err != nil {
		return fmt.Errorf("reading VmRSS (Linux only): %w", err)
	}
	store, err := os.MkdirTemp("", "bantin-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	log := slog.New(slog.DiscardHandler)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: store}, log)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connect := func(name string) (*bus.Bus, error) {
		return bus.Connect(ctx, ns.ClientURL(), name, bus.Topology{}, log)
	}
	bIng, err := connect("ingest")
	if err != nil {
		return err
	}
	bSum, err := connect("summarize")
	if err != nil {
		return err
	}
	bPub, err := connect("publish")
	if err != nil {
		return err
	}
	for _, b := range []*bus.Bus{bIng, bSum, bPub} {
		defer b.Close()
	}
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: bIng, Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	sum, err := summarize.New(summarize.Config{Concurrency: conc}, summarize.Deps{Bus: bSum, Summarizer: extractive.New(extractive.Config{}), Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	pub, err := publish.New(publish.Config{BaseURL: "http://soak.invalid"}, publish.Deps{Bus: bPub, Log: log})
	if err != nil {
		return err
	}
	pub.Register(http.NewServeMux())
	roles := []func(context.Context) error{sum.Run}
	pubReady := func(context.Context) error { return nil }
	if withPublish {
		roles, pubReady = append(roles, pub.Run), pub.Ready
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, r := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
			}
		}()
	}
	for sum.Ready(ctx) != nil || pubReady(ctx) != nil {
		select {
		case err := <-errs:
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}

	digests := func() int {
		s, err := bIng.JS.Stream(ctx, model.StreamDigests)
		if err != nil {
			return -1
		}
		i, err := s.Info(ctx)
		if err != nil {
			return -1
		}
		return int(i.State.Msgs)
	}
	start := time.Now()
	var samples []sample
	var mu sync.Mutex
	take := func(reports int) {
		rss, _ := vmRSS()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		samples = append(samples, sample{reports: reports, digests: digests(), rss: rss, heap: float64(ms.HeapInuse) / (1 << 20), goroutines: runtime.NumGoroutine(), at: time.Since(start)})
		mu.Unlock()
	}
	take(0)
	var next, queued, failed atomic.Int64
	run := fmt.Sprint(start.UnixNano())
	var pushers sync.WaitGroup
	for range uploaders {
		pushers.Add(1)
		go func() {
			defer pushers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				res := ing.IngestBytes(ctx, reportText(run, i), model.Source{Site: "soak.test", AttachmentName: fmt.Sprintf("bao-cao-%05d.txt", i)})
				if res.Outcome != ingest.OutcomeQueued {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "report %d: %s %s %s\n", i, res.Outcome, res.Reason, res.Error)
					continue
				}
				if q := queued.Add(1); q%int64(every) == 0 {
					take(int(q))
				}
			}
		}()
	}
	pushers.Wait()
	pushed := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for digests() < int(queued.Load()) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	take(int(queued.Load()))
	total := time.Since(start)
	if memprof != "" {
		f, err := os.Create(memprof)
		if err != nil {
			return err
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return fmt.Errorf("writing the heap profile: %w", err)
		}
		f.Close()
	}
	out := digests()
	cancel()
	wg.Wait()

	stack := "ingest → summarize (extractive, concurrency %d) → publish"
	if !withPublish {
		stack = "ingest → summarize (extractive, concurrency %d), no publish"
	}
	fmt.Printf("bench/soak: %d reports through "+stack+", %d uploaders; %s; %s\n\n", n, conc, uploaders, benchutil.Machine(), runtime.Version())
	fmt.Println("| reports queued | digests out | elapsed s | RSS MiB | Go heap in use MiB | goroutines |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range samples {
		fmt.Printf("| %d | %d | %.1f | %.1f | %.1f | %d |\n", s.reports, s.digests, s.at.Seconds(), s.rss, s.heap, s.goroutines)
	}
	// The first quartile of the run: the first sample at or past n/4
	// reports, after start-up allocations have settled.
	var q1 sample
	maxRSS, maxG := 0.0, 0
	for _, s := range samples {
		if q1.reports == 0 && s.reports >= n/4 {
			q1 = s
		}
		maxRSS = max(maxRSS, s.rss)
		maxG = max(maxG, s.goroutines)
	}
	fmt.Printf("\nRSS: max %.1f MiB, at the first quartile (%d reports) %.1f MiB: ratio %.2f; goroutines max %d (at the first quartile %d)\n",
		maxRSS, q1.reports, q1.rss, maxRSS/q1.rss, maxG, q1.goroutines)
	fmt.Printf("reports in %d (not queued %d), digests out %d, pushed in %.1f s, all digested in %.1f s (%.0f reports/s)\n",
		queued.Load(), failed.Load(), out, pushed.Seconds(), total.Seconds(), float64(out)/total.Seconds())
	if failed.Load() != 0 || out != int(queued.Load()) {
		return fmt.Errorf("%d reports queued, %d digests out, %d not queued", queued.Load(), out, failed.Load())
	}
	return nil
}

// vmRSS is the resident set size of this process, in MiB.
func vmRSS() (float64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, errors.New("no VmRSS line in /proc/self/status")
}

// reportText is the i-th synthetic meeting report: distinct bytes (so a
// distinct report id) for every i, long enough for the extractive
// summariser.
func reportText(run string, i int) []byte {
	return fmt.Appendf(nil, `BÁO CÁO SỐ %d/BC-UBND (soak %s)
Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội của huyện số %d trong quý vừa qua.
Tổng sản phẩm trên địa bàn ước tăng %d,%d%% so với cùng kỳ năm trước, cao hơn mức bình quân của tỉnh.
Thu ngân sách nhà nước trên địa bàn đạt %d tỷ đồng, bằng %d%% dự toán được giao.
Ủy ban nhân dân huyện đã giải ngân %d dự án đầu tư công và khởi công mới %d công trình giao thông nông thôn.
Huyện tổ chức %d lớp đào tạo nghề cho lao động nông thôn, giải quyết việc làm cho %d người.
Giao Phòng Tài chính - Kế hoạch chủ trì rà soát các dự án chậm tiến độ, báo cáo trước ngày %d tháng %d.
Năm tới, huyện phấn đấu thu hút thêm %d doanh nghiệp thành lập mới và giảm tỷ lệ hộ nghèo xuống dưới %d%%.
`, i+1, run, i%97+1, 5+i%4, i%10, 100+i, 90+i%20, 3+i%17, 2+i%9, 10+i%30, 200+i, 1+i%28, 1+i%12, 50+i, 2+i%5)
}
