// Command soak pushes many reports through the bantin stack (ingest,
// summarize with the extractive backend, publish) in this process, against
// a nats-server (JetStream on a file store) in a process of its own, as
// production runs them, and samples the resident memory of each (VmRSS from
// /proc/PID/status), this process's Go heap and goroutines every -every
// reports, to show that the workers' memory stays flat under sustained
// load: that it does not grow with the number of reports processed. The
// nats-server is this binary again (see benchutil.EnvNATSStore);
// -embedded runs it inside this process instead, as `bantin all` does, and
// then the RSS is both together.
//
// The load is closed-loop, as a newsroom's is: uploaders wait while more
// than -backlog reports wait in REPORTS, so the backlog, which is meant to
// grow when uploads outrun summarising, does not pass for a leak
// (-backlog 0 uploads open-loop). A reader fetches the feed, searches for
// an older report and opens the digest found every -read, so publish reads
// old digests back from the stream as it does for readers. It prints the
// series, the ratio of the largest RSS sample to the sample at the first
// quartile and the RSS slope over the second half for each process, the Go
// heap and goroutines, what the streams hold at the end (the nats-server's
// state grows with it), and checks every report came out as exactly one
// digest.
//
// Nothing tunes the runtime (no GOMEMLIMIT, no debug.FreeOSMemory): RSS is
// what the process holds.
//
//	go run ./bench/soak [-n 10000] [-every 500] [-uploaders 2] [-backlog 300] [-publish=false] [-embedded]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	if store := os.Getenv(benchutil.EnvNATSStore); store != "" {
		if err := serveNATS(store); err != nil {
			fmt.Fprintln(os.Stderr, "bench/soak (nats-server):", err)
			os.Exit(1)
		}
		return
	}
	n := flag.Int("n", 10000, "reports to push")
	every := flag.Int("every", 500, "sample memory every this many reports queued")
	uploaders := flag.Int("uploaders", 2, "concurrent uploaders")
	conc := flag.Int("concurrency", 2, "summarize worker concurrency (the role's default)")
	backlog := flag.Int("backlog", 300, "uploaders wait while more than this many reports wait in REPORTS (closed loop); 0 uploads open-loop")
	read := flag.Duration("read", 500*time.Millisecond, "a reader fetches the feed, searches for an older report and opens the digest found this often; 0 for none")
	withPublish := flag.Bool("publish", true, "run the publish role too; -publish=false measures ingest and summarize alone")
	embedded := flag.Bool("embedded", false, "run nats-server inside this process (as `bantin all` does) instead of in a child process (as production does); the RSS is then both together")
	keepDigests := flag.Int("keep-digests", 0, "limit DIGESTS to this many messages (MaxMsgs), as an operator would, and let publish drop the rest from its index; 0 keeps every digest")
	memprof := flag.String("memprofile", "", "write a heap profile at the end to this file, and one at the first quartile to this file + \".q1\" (compare with go tool pprof -diff_base); the nats-server child's go to this file + \".nats\" and \".nats.q1\"")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/soak [flags]\n\nSustained, closed-loop load through ingest+summarize+publish in this process against a nats-server in a child process (this binary again); prints each process's RSS, this one's heap and goroutines every -every reports, the max/first-quartile RSS ratio and the RSS slope over the second half, and what the streams hold at the end.\nLinux only (reads /proc/PID/status).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(options{n: *n, every: *every, uploaders: *uploaders, conc: *conc, backlog: *backlog, read: *read, publish: *withPublish, embedded: *embedded, keepDigests: *keepDigests, memprof: *memprof}); err != nil {
		fmt.Fprintln(os.Stderr, "bench/soak:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	n, every, uploaders, conc, backlog int
	keepDigests                        int
	read                               time.Duration
	publish, embedded                  bool
	memprof                            string
}

// sample is one memory reading.
type sample struct {
	reports, digests, backlog int
	// rss is this process's VmRSS, natsRSS the nats-server child's (0
	// with -embedded); heap the Go heap in use (live and not yet
	// collected); live the heap that the last collection found live. In
	// MiB.
	rss, natsRSS, heap, live float64
	goroutines               int
	at                       time.Duration
}

func run(o options) error {
	n, every, uploaders, conc, withPublish, memprof := o.n, o.every, o.uploaders, o.conc, o.publish, o.memprof
	if n <= 0 || every <= 0 || uploaders <= 0 || o.backlog < 0 {
		return errors.New("-n, -every and -uploaders must be positive, -backlog zero or more")
	}
	if _, err := benchutil.VmRSS("self"); err != nil {
		return fmt.Errorf("reading VmRSS (Linux only): %w", err)
	}
	store, err := os.MkdirTemp("", "bantin-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	log := slog.New(slog.DiscardHandler)
	var natsURL string
	// natsPID is the child's, "" with -embedded.
	natsPID := ""
	natsQ1 := func() {}
	if o.embedded {
		ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: store}, log)
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
	} else {
		profile := ""
		if memprof != "" {
			profile = memprof + ".nats"
		}
		child, err := startNATSChild(store, profile)
		if err != nil {
			return err
		}
		defer func() {
			if err := child.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "bench/soak:", err)
			}
		}()
		natsURL, natsPID, natsQ1 = child.URL, strconv.Itoa(child.PID()), child.profileQ1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connect := func(name string) (*bus.Bus, error) {
		return bus.Connect(ctx, natsURL, name, bus.Topology{}, log)
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
	if o.keepDigests > 0 {
		if err := limitDigests(ctx, bIng, o.keepDigests); err != nil {
			return err
		}
	}
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: bIng, Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	sum, err := summarize.New(summarize.Config{Concurrency: conc}, summarize.Deps{Bus: bSum, Summarizer: extractive.New(extractive.Config{}), Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	pubMetrics := prometheus.NewRegistry()
	pub, err := publish.New(publish.Config{BaseURL: "http://soak.invalid", RetentionCheck: time.Second}, publish.Deps{Bus: bPub, Log: log, Registry: pubMetrics})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	pub.Register(mux)
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

	// state reads a stream's state; nil when it cannot.
	state := func(stream string) *jetstream.StreamState {
		s, err := bIng.JS.Stream(ctx, stream)
		if err != nil {
			return nil
		}
		i, err := s.Info(ctx)
		if err != nil {
			return nil
		}
		return &i.State
	}
	msgs := func(stream string) int {
		if st := state(stream); st != nil {
			return int(st.Msgs)
		}
		return -1
	}
	// digests counts the digests out: the last sequence of DIGESTS, which
	// outlives messages a -keep-digests limit removed (the soak makes one
	// digest per report and no corrections).
	digests := func() int {
		if st := state(model.StreamDigests); st != nil {
			return int(st.LastSeq)
		}
		return -1
	}
	// waiting is the REPORTS backlog, polled for the uploaders.
	var waiting atomic.Int64
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for pollCtx.Err() == nil {
			waiting.Store(int64(msgs(model.StreamReports)))
			select {
			case <-pollCtx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var readErrs, reads atomic.Int64
	if withPublish && o.read > 0 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for i := 0; pollCtx.Err() == nil; i++ {
				// The feed, a search for an older report and the first
				// digest it finds, which publish may have to read again
				// from the stream.
				body := ""
				for _, path := range []string{"/feeds/all.atom", "/search?q=bao+cao+so+" + strconv.Itoa((i*7919)%max(1, pub.Index().Len())+1), ""} {
					if path == "" {
						_, link, ok := strings.Cut(body, `href="http://soak.invalid/digests/`)
						if !ok {
							break
						}
						id, _, _ := strings.Cut(link, `"`)
						path = "/digests/" + id
					}
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
					reads.Add(1)
					body = rec.Body.String()
					if rec.Code != http.StatusOK {
						readErrs.Add(1)
						fmt.Fprintf(os.Stderr, "GET %s: %d %s\n", path, rec.Code, body)
					}
				}
				select {
				case <-pollCtx.Done():
				case <-time.After(o.read):
				}
			}
		}()
	}
	start := time.Now()
	var samples []sample
	var mu sync.Mutex
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	take := func(reports int) {
		rss, _ := benchutil.VmRSS("self")
		natsRSS := 0.0
		if natsPID != "" {
			natsRSS, _ = benchutil.VmRSS(natsPID)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		metrics.Read(live)
		mu.Lock()
		samples = append(samples, sample{reports: reports, digests: digests(), backlog: msgs(model.StreamReports), rss: rss, natsRSS: natsRSS,
			heap: float64(ms.HeapInuse) / (1 << 20), live: float64(live[0].Value.Uint64()) / (1 << 20),
			goroutines: runtime.NumGoroutine(), at: time.Since(start)})
		mu.Unlock()
		if memprof != "" && reports == n/4 {
			if err := writeHeapProfile(memprof + ".q1"); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			natsQ1()
		}
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
				for o.backlog > 0 && waiting.Load() > int64(o.backlog) && ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
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
	stopPoll()
	bg.Wait()
	// The heap that is live at the end, whatever the collector had not
	// got to yet: what the run keeps.
	runtime.GC()
	var endMem runtime.MemStats
	runtime.ReadMemStats(&endMem)
	inMemory := -1.0
	if mfs, err := pubMetrics.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() == "bantin_publish_digests_in_memory" && len(mf.GetMetric()) == 1 {
				inMemory = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	if memprof != "" {
		if err := writeHeapProfile(memprof); err != nil {
			return err
		}
	}
	out := digests()
	stored, storedErr := streamStates(ctx, bIng)
	cancel()
	wg.Wait()

	stack := "ingest → summarize (extractive, concurrency %d) → publish"
	if !withPublish {
		stack = "ingest → summarize (extractive, concurrency %d), no publish"
	}
	loop := fmt.Sprintf("closed loop (uploaders wait while more than %d reports wait in REPORTS)", o.backlog)
	if o.backlog == 0 {
		loop = "open loop"
	}
	if o.keepDigests > 0 {
		loop += fmt.Sprintf("; DIGESTS limited to %d messages", o.keepDigests)
	}
	fmt.Printf("bench/soak: %d reports through "+stack+", %d uploaders, %s; %s; %s\n\n", n, conc, uploaders, loop, benchutil.Machine(), runtime.Version())
	where := "nats-server in a child process (pid " + natsPID + ")"
	if natsPID == "" {
		where = "nats-server embedded in this process (-embedded): the RSS is both"
	}
	fmt.Printf("%s; RSS is VmRSS, heap and goroutines are this process's\n\n", where)
	fmt.Println("| reports queued | digests out | waiting in REPORTS | elapsed s | RSS MiB | nats-server RSS MiB | Go heap in use MiB | live at last GC MiB | goroutines |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range samples {
		nats := "–"
		if natsPID != "" {
			nats = fmt.Sprintf("%.1f", s.natsRSS)
		}
		fmt.Printf("| %d | %d | %d | %.1f | %.1f | %s | %.1f | %.1f | %d |\n", s.reports, s.digests, s.backlog, s.at.Seconds(), s.rss, nats, s.heap, s.live, s.goroutines)
	}
	// The first quartile of the run: the first sample at or past n/4
	// reports, after start-up allocations have settled.
	var q1 sample
	maxRSS, maxNATS, maxG, maxBacklog := 0.0, 0.0, 0, 0
	for _, s := range samples {
		if q1.reports == 0 && s.reports >= n/4 {
			q1 = s
		}
		maxRSS = max(maxRSS, s.rss)
		maxNATS = max(maxNATS, s.natsRSS)
		maxG = max(maxG, s.goroutines)
		maxBacklog = max(maxBacklog, s.backlog)
	}
	last := samples[len(samples)-1]
	rss := func(s sample) float64 { return s.rss }
	fmt.Printf("\nRSS (this process): max %.1f MiB, at the first quartile (%d reports) %.1f MiB: ratio %.2f; slope over the second half %+.2f MiB per 1,000 reports\n",
		maxRSS, q1.reports, q1.rss, maxRSS/q1.rss, 1000*slope(samples, n/2, rss))
	if natsPID != "" {
		fmt.Printf("nats-server RSS: at start %.1f MiB, at the first quartile %.1f MiB, max %.1f MiB, at the end %.1f MiB: ratio max / first quartile %.2f; slope over the second half %+.2f MiB per 1,000 reports\n",
			samples[0].natsRSS, q1.natsRSS, maxNATS, last.natsRSS, maxNATS/q1.natsRSS, 1000*slope(samples, n/2, func(s sample) float64 { return s.natsRSS }))
	}
	fmt.Printf("Go heap in use: at the first quartile %.1f MiB, at the end %.1f MiB; live at the last GC: at the first quartile %.1f MiB, at the end %.1f MiB, after a forced GC at the end %.1f MiB\n",
		q1.heap, last.heap, q1.live, last.live, float64(endMem.HeapAlloc)/(1<<20))
	fmt.Printf("goroutines: at start %d, at the first quartile %d, max %d, at the end %d; most reports waiting in REPORTS %d\n",
		samples[0].goroutines, q1.goroutines, maxG, last.goroutines, maxBacklog)
	if storedErr != nil {
		fmt.Fprintln(os.Stderr, "bench/soak:", storedErr)
	} else {
		fmt.Println("\nWhat JetStream holds at the end (the nats-server's memory follows it: an index entry per subject, per message id in the duplicate window):")
		fmt.Println("\n| stream | messages | MiB | subjects |")
		fmt.Println("| --- | ---: | ---: | ---: |")
		for _, st := range stored {
			fmt.Printf("| %s | %d | %.1f | %d |\n", st.name, st.msgs, float64(st.bytes)/(1<<20), st.subjects)
		}
		fmt.Println()
	}
	if withPublish {
		fmt.Printf("publish: %d digests indexed, %.0f in memory in full; %d reads, %d failed\n", pub.Index().Len(), inMemory, reads.Load(), readErrs.Load())
	}
	fmt.Printf("reports in %d (not queued %d), digests out %d, pushed in %.1f s, all digested in %.1f s (%.0f reports/s)\n",
		queued.Load(), failed.Load(), out, pushed.Seconds(), total.Seconds(), float64(out)/total.Seconds())
	if failed.Load() != 0 || out != int(queued.Load()) || readErrs.Load() != 0 {
		return fmt.Errorf("%d reports queued, %d digests out, %d not queued, %d reads failed", queued.Load(), out, failed.Load(), readErrs.Load())
	}
	return nil
}

// slope is the least-squares slope of y (MiB) over reports queued, for
// the samples at or past from reports; 0 with fewer than two.
func slope(samples []sample, from int, y func(sample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		if s.reports < from {
			continue
		}
		x, y := float64(s.reports), y(s)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	if d := n*sxx - sx*sx; n >= 2 && d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}

// streamState is what one stream holds.
type streamState struct {
	name                  string
	msgs, bytes, subjects uint64
}

// streamStates lists every stream's messages, bytes and subjects (for a
// key-value bucket, its keys), by name.
func streamStates(ctx context.Context, b *bus.Bus) ([]streamState, error) {
	var out []streamState
	l := b.JS.ListStreams(ctx)
	for info := range l.Info() {
		out = append(out, streamState{name: info.Config.Name, msgs: info.State.Msgs, bytes: info.State.Bytes, subjects: info.State.NumSubjects})
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	slices.SortFunc(out, func(a, b streamState) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the heap profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("writing the heap profile %s: %w", path, err)
	}
	return f.Close()
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

// limitDigests sets DIGESTS' MaxMsgs to keep, as an operator would with
// `nats stream edit`.
func limitDigests(ctx context.Context, b *bus.Bus, keep int) error {
	st, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		return fmt.Errorf("opening %s: %w", model.StreamDigests, err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxMsgs = int64(keep)
	if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("limiting %s to %d messages: %w", model.StreamDigests, keep, err)
	}
	return nil
}
