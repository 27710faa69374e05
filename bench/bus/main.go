// Command bus measures what bantin's bus costs per report: end-to-end
// reports/s through a real summarize worker with the extractive summariser
// (publish report → pull → DIGESTED lookup → summarise → faithfulness check
// → publish digest → mark digested → ack), next to the same summarising
// done in process with no bus (the compute), and next to the raw JetStream
// floor for the same payloads (publish with Nats-Msg-Id, pull-consume, ack,
// nothing else) on the same server, in one run.
//
// The nats-server runs in a process of its own by default (-nats child:
// this binary again, see benchutil.EnvNATSStore), as the NATS StatefulSet
// does in production, so that this process's CPU time is bantin's side
// alone and the server's is reported next to it; -nats embedded runs it
// inside this process, as `bantin all` does, and the CPU time is then both
// together.
//
//	go run ./bench/bus [-nats child|embedded] [-reps 5] [-copies 4] [-concurrency 2]
//
// Payloads are the VietNews articles of the shared corpus ($BANTIN_CORPUS,
// default ../shared/corpus), short texts: the case where bus overhead
// weighs most.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest/extract"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/faithful"
)

func main() {
	if store := os.Getenv(benchutil.EnvNATSStore); store != "" {
		if err := benchutil.ServeNATS(store, benchutil.ServeHooks{}); err != nil {
			fmt.Fprintln(os.Stderr, "bench/bus (nats-server):", err)
			os.Exit(1)
		}
		return
	}
	natsMode := flag.String("nats", "child", "child: nats-server in a process of its own (this binary again), as production runs it, its CPU time reported apart; embedded: inside this process, as 'bantin all' runs it, its CPU time counted in this process's")
	reps := flag.Int("reps", 5, "repetitions of each measurement; the median is reported")
	copies := flag.Int("copies", 4, "times each corpus article is sent per repetition (with distinct ids)")
	conc := flag.Int("concurrency", 2, "summarize worker concurrency (the role's default is 2)")
	payload := flag.String("payload", "vietnews", "vietnews: the 150 short VietNews articles (the worst case for bus overhead); pdf: the text of the corpus' Vietnamese text PDFs (real reports, 1–256 pages)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of each repetition's end-to-end run to FILE.1 … FILE.N (go tool pprof merges them: go tool pprof -top FILE.*)")
	memProf := flag.String("memprofile", "", "write an allocation profile of the whole run to this file (go tool pprof -sample_index=alloc_objects)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/bus [flags]\n\nEnd-to-end reports/s of a summarize worker (extractive) vs the summarising alone vs the raw JetStream floor.\nNeeds the shared corpus: BANTIN_CORPUS=/path/to/corpus (default ../shared/corpus).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *memProf != "" {
		runtime.MemProfileRate = 4096
	}
	if *natsMode != "child" && *natsMode != "embedded" {
		fmt.Fprintf(os.Stderr, "bench/bus: -nats %q: want child or embedded\n", *natsMode)
		os.Exit(2)
	}
	if err := run(*natsMode, *payload, *prof, *reps, *copies, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/bus:", err)
		os.Exit(1)
	}
	if *memProf != "" {
		if err := writeHeapProfile(*memProf); err != nil {
			fmt.Fprintln(os.Stderr, "bench/bus:", err)
			os.Exit(1)
		}
	}
}

func run(natsMode, payload, prof string, reps, copies, conc int) error {
	var arts []benchutil.Article
	var err error
	switch payload {
	case "vietnews":
		arts, err = benchutil.VietNews(benchutil.CorpusDir())
	case "pdf":
		arts, err = pdfTexts(benchutil.CorpusDir())
	default:
		err = fmt.Errorf("-payload %q: want vietnews or pdf", payload)
	}
	if err != nil {
		return err
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "bantin-bench-bus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var url string
	// srvCPU is the nats-server child's CPU time so far in ms, 0 when the
	// server is embedded (its time is then this process's).
	srvCPU := func() float64 { return 0 }
	if natsMode == "embedded" {
		srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir}, log)
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		url = srv.ClientURL()
	} else {
		child, err := benchutil.StartNATSChild(dir)
		if err != nil {
			return err
		}
		defer func() {
			if err := child.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "bench/bus:", err)
			}
		}()
		if _, err := child.CPU(); err != nil {
			return fmt.Errorf("reading the nats-server child's CPU time: %w", err)
		}
		url = child.URL
		srvCPU = func() float64 {
			d, _ := child.CPU()
			return float64(d) / 1e6
		}
	}
	b, err := bus.Connect(ctx, url, "bench-bus", bus.Topology{}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	child := natsMode == "child"

	fmt.Printf("machine: %s\n", benchutil.Machine())
	if child {
		fmt.Printf("nats-server: a child process (-nats child); CPU ms/report is this process's (bantin's side), the server's apart (/proc/PID/stat, 10 ms ticks)\n")
	} else {
		fmt.Printf("nats-server: embedded in this process (-nats embedded); CPU ms/report includes the server's\n")
	}
	fmt.Printf("payloads: %d %s texts × %d copies = %d reports per run, worker concurrency %d, %d repetitions\n\n",
		len(arts), payload, copies, len(arts)*copies, conc, reps)

	// Each phase is measured once per repetition, in this order.
	phases := []*phase{
		{name: "raw JetStream floor: publish+Msg-Id, pull, ack", note: "baseline for the bus part"},
		{name: fmt.Sprintf("summarise only (extractive + faithfulness check, %d goroutines, no bus)", conc)},
		{name: "bantin end-to-end (PublishReport → worker → digest, DIGESTED, ack)"},
		{name: "check only (faithfulness check of precomputed digests, no bus)"},
		{name: "bantin end-to-end, precomputed digests, from a backlog (the bus path + check; wall time is the worker's)"},
	}
	raw, compute, e2e, check, pre := phases[0], phases[1], phases[2], phases[3], phases[4]
	for _, ph := range phases {
		ph.srvCPU = srvCPU
	}
	var published []float64
	for rep := 0; rep < reps; rep++ {
		reports := makeReports(arts, copies, fmt.Sprintf("rep%d", rep))
		payloads := make([][]byte, len(reports))
		var bytes int
		for i, r := range reports {
			payloads[i], _ = json.Marshal(r)
			bytes += len(payloads[i])
		}
		if rep == 0 {
			fmt.Printf("mean payload %.1f KiB\n\n", float64(bytes)/float64(len(payloads))/1024)
		}
		if err := raw.measure(len(reports), func() (float64, error) { return rawFloor(ctx, b.NC, payloads, reports, rep) }); err != nil {
			return err
		}
		if err := compute.measure(len(reports), func() (float64, error) { return summariseOnly(ctx, reports, conc) }); err != nil {
			return err
		}
		profPath := ""
		if prof != "" {
			profPath = fmt.Sprintf("%s.%d", prof, rep+1)
		}
		var tp float64
		err := e2e.measure(len(reports), func() (t float64, err error) {
			t, tp, err = endToEnd(ctx, b, reports, conc, extractive.New(extractive.Config{}), false, profPath, log)
			return t, err
		})
		if err != nil {
			return err
		}
		published = append(published, tp)
		// The same reports again under new ids, with their digests made
		// beforehand: what is left of a report's CPU time is bantin's own
		// plus the faithfulness check, measured alone next.
		again := makeReports(arts, copies, fmt.Sprintf("pre%d", rep))
		digests, err := precompute(ctx, again)
		if err != nil {
			return err
		}
		if err := check.measure(len(again), func() (float64, error) { return checkOnly(again, digests, conc) }); err != nil {
			return err
		}
		err = pre.measure(len(again), func() (t float64, err error) {
			t, _, err = endToEnd(ctx, b, again, conc, digests, true, "", log)
			return t, err
		})
		if err != nil {
			return err
		}
		fmt.Printf("rep %d: raw JetStream %.0f/s, summarise only %.0f/s, bantin end-to-end %.0f/s (publishing %.0f/s); check only %.0f/s, end-to-end precomputed %.0f/s\n",
			rep+1, raw.rate[rep], compute.rate[rep], e2e.rate[rep], published[rep], check.rate[rep], pre.rate[rep])
	}
	cores := float64(runtime.GOMAXPROCS(0))
	cpuCol := "CPU ms/report"
	if child {
		cpuCol = "CPU ms/report, bantin process | nats-server child"
	}
	fmt.Printf("\n| measurement (median of %d) | reports/s | wall ms/report | %s | cores busy (of %.0f) | allocs/report | note |\n|---|---|---|---|---|---|---|%s\n", reps, cpuCol, cores, map[bool]string{true: "---|"}[child])
	for _, ph := range phases {
		note := ph.note
		if ph == e2e {
			note = fmt.Sprintf("%.2f× of summarise-only", ph.median()/compute.median())
		}
		cpu := fmt.Sprintf("%.3f", ph.cpuMS())
		if child {
			cpu += fmt.Sprintf(" | %.3f", ph.srvMS())
		}
		fmt.Printf("| %s | %.0f | %.3f | %s | %.2f | %.0f | %s |\n", ph.name, ph.median(), ph.wallMS(), cpu, (ph.cpuMS()+ph.srvMS())/ph.wallMS(), benchutil.Median(ph.allocs), note)
	}
	who := "this process, the embedded nats-server included"
	if child {
		who = "the bantin process alone, the nats-server child's apart"
	}
	own := e2e.wallMS() - compute.wallMS()
	fmt.Printf("\nbantin's own share of per-report wall time: %.3f ms of %.3f ms = %.1f%% (target ≤ 10%%)\n", own, e2e.wallMS(), 100*own/e2e.wallMS())
	cOwn := e2e.cpuMS() - compute.cpuMS()
	fmt.Printf("bantin's own share of per-report CPU time (%s): %.3f ms of %.3f ms = %.1f%% (robust to other load on the machine)\n", who, cOwn, e2e.cpuMS(), 100*cOwn/e2e.cpuMS())
	dOwn := pre.cpuMS() - check.cpuMS()
	fmt.Printf("bantin's own CPU time measured without the summariser's noise (precomputed − check only): %.3f ms = %.1f%% of %.3f ms (it + summarise-only)\n", dOwn, 100*dOwn/(dOwn+compute.cpuMS()), dOwn+compute.cpuMS())
	if child {
		// The reading -nats embedded gives, from this run: the server's
		// CPU time counted as bantin's.
		all := e2e.cpuMS() + e2e.srvMS()
		aOwn := all - compute.cpuMS() - compute.srvMS()
		dAll := pre.cpuMS() + pre.srvMS() - check.cpuMS() - check.srvMS()
		fmt.Printf("the same with the nats-server child's CPU time counted as bantin's (as in-process): %.3f ms of %.3f ms = %.1f%%; direct %.3f ms = %.1f%%\n", aOwn, all, 100*aOwn/all, dAll, 100*dAll/(dAll+compute.cpuMS()))
		fmt.Printf("nats-server CPU per report: raw floor %.3f ms, end-to-end %.3f ms, precomputed %.3f ms\n", raw.srvMS(), e2e.srvMS(), pre.srvMS())
	}
	fmt.Printf("bantin's own CPU time vs the raw JetStream floor's (client side%s): %.2f× (%.2f× measured without the summariser)\n", map[bool]string{false: " and server"}[child], cOwn/raw.cpuMS(), dOwn/raw.cpuMS())
	return opCosts(ctx, b, makeReports(arts, copies, "ops"), child, srvCPU)
}

// opCosts measures, one after another on the same server, each bus
// operation a report goes through, as bantin's code calls it: what bounds
// bantin's own time per report. Sequential calls wait for every round
// trip, so these are upper bounds of the same calls overlapped.
func opCosts(ctx context.Context, b *bus.Bus, reports []*model.Report, child bool, srvCPU func() float64) error {
	digests, err := precompute(ctx, reports)
	if err != nil {
		return err
	}
	cons, err := b.EnsureSummarizeConsumer(ctx)
	if err != nil {
		return err
	}
	n := len(reports)
	if child {
		fmt.Printf("\n| operation (%d reports, one call at a time) | CPU µs per report, bantin process | nats-server child (10 ms ticks) |\n|---|---|---|\n", n)
	} else {
		fmt.Printf("\n| operation (%d reports, one call at a time) | CPU µs per report (server included) |\n|---|---|\n", n)
	}
	// op calls f calls times; each call serves per reports.
	op := func(name string, calls, per int, f func(i int) error) error {
		c0, s0 := cpuMS(), srvCPU()
		for i := 0; i < calls; i++ {
			if err := f(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		k := 1e3 / float64(calls*per)
		if child {
			fmt.Printf("| %s | %.1f | %.0f |\n", name, k*(cpuMS()-c0), k*(srvCPU()-s0))
		} else {
			fmt.Printf("| %s | %.1f |\n", name, k*(cpuMS()-c0))
		}
		return nil
	}
	pullAck := func(batch int) func(int) error {
		return func(int) error {
			mb, err := cons.Fetch(batch, jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				return err
			}
			got := 0
			for m := range mb.Messages() {
				got++
				if err := m.Ack(); err != nil {
					return err
				}
			}
			if got != batch {
				return fmt.Errorf("pulled %d of %d (%v)", got, batch, mb.Error())
			}
			return nil
		}
	}
	third := n / 3 / 4 * 4
	return errors.Join(
		op("OffloadText + PublishReport (JSON + publish with Msg-Id, ingest)", n, 1, func(i int) error {
			if err := b.OffloadText(ctx, reports[i]); err != nil {
				return err
			}
			_, err := b.PublishReport(ctx, reports[i])
			return err
		}),
		op("pull 1 report per request + ack (before)", third, 1, pullAck(1)),
		op("pull 2 reports per request + ack (after, Concurrency 2)", third/2, 2, pullAck(2)),
		op("pull 4 reports per request + ack", third/4, 4, pullAck(4)),
		op("DIGESTED lookup (miss)", n, 1, func(i int) error { _, _, err := b.DigestedID(ctx, reports[i].ID); return err }),
		op("PublishDigest (JSON + publish with Msg-Id)", n, 1, func(i int) error { return b.PublishDigest(ctx, digests[reports[i].ID]) }),
		op("MarkDigested (KV put)", n, 1, func(i int) error { return b.MarkDigested(ctx, reports[i].ID, digests[reports[i].ID].ID) }),
	)
}

// phase collects one measurement's repetitions.
type phase struct {
	name, note string
	// rate is reports/s; cpu and allocs the CPU ms and heap allocations
	// per report of this process (embedded server included); srv the
	// nats-server child's CPU ms per report (0 when embedded).
	rate, cpu, srv, allocs []float64
	// srvCPU is the nats-server child's CPU time so far in ms.
	srvCPU func() float64
}

// measure runs f, which returns reports/s for n reports, and records it
// with the CPU time and allocations it took.
func (p *phase) measure(n int, f func() (float64, error)) error {
	c0, s0, a0 := cpuMS(), p.srvCPU(), mallocs()
	t, err := f()
	if err != nil {
		return err
	}
	p.rate = append(p.rate, t)
	p.cpu = append(p.cpu, (cpuMS()-c0)/float64(n))
	p.srv = append(p.srv, (p.srvCPU()-s0)/float64(n))
	p.allocs = append(p.allocs, (mallocs()-a0)/float64(n))
	return nil
}

func (p *phase) median() float64 { return benchutil.Median(p.rate) }
func (p *phase) wallMS() float64 { return 1e3 / p.median() }
func (p *phase) cpuMS() float64  { return benchutil.Median(p.cpu) }
func (p *phase) srvMS() float64  { return benchutil.Median(p.srv) }

// pdfTexts extracts the corpus' Vietnamese PDFs that have a text layer.
func pdfTexts(corpus string) ([]benchutil.Article, error) {
	paths, err := filepath.Glob(filepath.Join(corpus, "pdf", "vi-*.pdf"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no vi-*.pdf in %s/pdf: set BANTIN_CORPUS", corpus)
	}
	var out []benchutil.Article
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		doc, err := extract.Extract(context.Background(), data)
		if err != nil || len(doc.Paragraphs) < 5 {
			continue // scanned: the OCR stage's business
		}
		out = append(out, benchutil.Article{ID: filepath.Base(p), Title: doc.Title, Paras: doc.Paragraphs})
	}
	return out, nil
}

// cpuMS is the user+system CPU time of this process so far, in ms.
func cpuMS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// writeHeapProfile writes the allocation profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating allocation profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("writing allocation profile: %w", err)
	}
	return nil
}

// mallocs is the number of heap allocations of this process so far.
func mallocs() float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Mallocs)
}

// makeReports builds copies×len(arts) reports; salt makes ids unique to a run.
func makeReports(arts []benchutil.Article, copies int, salt string) []*model.Report {
	var out []*model.Report
	for c := 0; c < copies; c++ {
		for _, a := range arts {
			h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%s", salt, c, a.ID)))
			paras := a.Paras
			if paras == nil {
				paras = benchutil.Paragraphs(a.Text)
			}
			out = append(out, &model.Report{
				SchemaVersion: model.SchemaVersion,
				ID:            hex.EncodeToString(h[:]),
				Source:        model.Source{Site: "bench.example", ArticleTitle: a.Title, AttachmentName: a.ID + ".txt"},
				Format:        "text",
				SizeBytes:     int64(len(a.Text)),
				Extractor:     "text",
				Paragraphs:    paras,
				CreatedAt:     time.Now().UTC(),
			})
		}
	}
	return out
}

// rawFloor publishes the payloads with Nats-Msg-Id to a scratch work-queue
// stream and pull-consumes and acks them: the least any JetStream pipeline
// moving these bytes can cost. It returns messages/s.
func rawFloor(ctx context.Context, nc *nats.Conn, payloads [][]byte, reports []*model.Report, rep int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	name := fmt.Sprintf("BENCHRAW%d", rep)
	subj := fmt.Sprintf("benchraw.%d", rep)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subj}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: bus.DefaultDuplicateWindow})
	if err != nil {
		return 0, err
	}
	defer js.DeleteStream(ctx, name)
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return 0, err
	}
	n := len(payloads)
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	for i, p := range payloads {
		if _, err := js.Publish(ctx, subj, p, jetstream.WithMsgID(reports[i].ID)); err != nil {
			return 0, err
		}
	}
	<-done
	return float64(n) / time.Since(start).Seconds(), nil
}

// summariseOnly runs what the worker computes per report, with conc
// goroutines and no bus. It returns reports/s.
func summariseOnly(ctx context.Context, reports []*model.Report, conc int) (float64, error) {
	sum := extractive.New(extractive.Config{})
	start := time.Now()
	err := benchutil.Parallel(len(reports), conc, func(i int) error {
		// The worker decodes each message into a fresh report.
		var r model.Report
		data, _ := json.Marshal(reports[i])
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		d, err := sum.Summarize(ctx, &r)
		if err != nil {
			return fmt.Errorf("summarising %s: %w", r.ID, err)
		}
		faithful.Check(&r, d)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return float64(len(reports)) / time.Since(start).Seconds(), nil
}

// precomputed is a summariser that hands out digests made beforehand.
type precomputed map[string]*model.Digest

func (p precomputed) Name() string { return "extractive" }

func (p precomputed) Summarize(_ context.Context, r *model.Report) (*model.Digest, error) {
	d, ok := p[r.ID]
	if !ok {
		return nil, fmt.Errorf("no digest made beforehand for %s", r.ID)
	}
	c := *d
	return &c, nil
}

// precompute makes the extractive digests of reports.
func precompute(ctx context.Context, reports []*model.Report) (precomputed, error) {
	sum := extractive.New(extractive.Config{})
	out := make(precomputed, len(reports))
	for _, r := range reports {
		d, err := sum.Summarize(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("summarising %s: %w", r.ID, err)
		}
		out[r.ID] = d
	}
	return out, nil
}

// checkOnly runs what the worker computes per report given its digest,
// with conc goroutines and no bus. It returns reports/s.
func checkOnly(reports []*model.Report, digests precomputed, conc int) (float64, error) {
	start := time.Now()
	err := benchutil.Parallel(len(reports), conc, func(i int) error {
		// As summariseOnly: a fresh report, decoded.
		var r model.Report
		data, _ := json.Marshal(reports[i])
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		d, err := digests.Summarize(context.Background(), &r)
		if err != nil {
			return err
		}
		faithful.Check(&r, d)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return float64(len(reports)) / time.Since(start).Seconds(), nil
}

// endToEnd publishes the reports as ingest does while a summarize worker
// consumes them, and waits for every digest. It returns reports/s end to
// end and the publishing rate alone.
// When profPath is set, the run's CPU profile is written there.
// With backlog, every report is published before the worker starts (the
// rate is then the worker's alone), as when a worker scales up to a queue.
func endToEnd(ctx context.Context, b *bus.Bus, reports []*model.Report, conc int, sum summarize.Summarizer, backlog bool, profPath string, log *slog.Logger) (float64, float64, error) {
	n := len(reports)
	publish := func() error {
		for _, r := range reports {
			// As ingest does: text over 512 KiB goes to the object store.
			if err := b.OffloadText(ctx, r); err != nil {
				return fmt.Errorf("offloading: %w", err)
			}
			if _, err := b.PublishReport(ctx, r); err != nil {
				return fmt.Errorf("publishing: %w", err)
			}
		}
		return nil
	}
	watch, err := benchutil.WatchDigests(b.NC, n)
	if err != nil {
		return 0, 0, err
	}
	defer watch.Close()
	svc, err := summarize.New(summarize.Config{Concurrency: conc}, summarize.Deps{Bus: b, Summarizer: sum, Log: log})
	if err != nil {
		return 0, 0, err
	}
	pubStart := time.Now()
	if backlog {
		if err := publish(); err != nil {
			return 0, 0, err
		}
	}
	pubRate := float64(n) / time.Since(pubStart).Seconds()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	werr := make(chan error, 1)
	go func() { werr <- svc.Run(wctx) }()
	for svc.Ready(ctx) != nil {
		time.Sleep(5 * time.Millisecond)
	}
	if profPath != "" {
		f, err := os.Create(profPath)
		if err != nil {
			return 0, 0, fmt.Errorf("creating CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, 0, fmt.Errorf("starting CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	pubDone := make(chan float64, 1)
	if backlog {
		pubDone <- pubRate
	} else {
		go func() {
			if err := publish(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			pubDone <- float64(n) / time.Since(start).Seconds()
		}()
	}
	if err := watch.Wait(5 * time.Minute); err != nil {
		stop()
		return 0, 0, err
	}
	rate := float64(n) / time.Since(start).Seconds()
	stop()
	if err := <-werr; err != nil {
		return 0, 0, err
	}
	return rate, <-pubDone, nil
}
