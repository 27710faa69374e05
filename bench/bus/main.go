// Command bus measures what bantin's bus costs per report: end-to-end
// reports/s through a real summarize worker with the extractive summariser
// (publish report → pull → DIGESTED lookup → summarise → faithfulness check
// → publish digest → mark digested → ack), next to the same summarising
// done in process with no bus (the compute), and next to the raw JetStream
// floor for the same payloads (publish with Nats-Msg-Id, pull-consume, ack,
// nothing else) on the same embedded server, in one run.
//
//	go run ./bench/bus [-reps 5] [-copies 4] [-concurrency 2]
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
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
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
	reps := flag.Int("reps", 5, "repetitions of each measurement; the median is reported")
	copies := flag.Int("copies", 4, "times each corpus article is sent per repetition (with distinct ids)")
	conc := flag.Int("concurrency", 2, "summarize worker concurrency (the role's default is 2)")
	payload := flag.String("payload", "vietnews", "vietnews: the 150 short VietNews articles (the worst case for bus overhead); pdf: the text of the corpus' Vietnamese text PDFs (real reports, 1–256 pages)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the end-to-end runs to this file (go tool pprof)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/bus [flags]\n\nEnd-to-end reports/s of a summarize worker (extractive) vs the summarising alone vs the raw JetStream floor.\nNeeds the shared corpus: BANTIN_CORPUS=/path/to/corpus (default ../shared/corpus).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/bus:", err)
			os.Exit(1)
		}
		defer f.Close()
		cpuProfile = f
	}
	if err := run(*payload, *reps, *copies, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/bus:", err)
		os.Exit(1)
	}
}

// cpuProfile, when set, receives a CPU profile of the end-to-end runs.
var cpuProfile *os.File

func run(payload string, reps, copies, conc int) error {
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
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), "bench-bus", bus.Topology{}, log)
	if err != nil {
		return err
	}
	defer b.Close()

	fmt.Printf("machine: %s\n", benchutil.Machine())
	fmt.Printf("payloads: %d %s texts × %d copies = %d reports per run, worker concurrency %d, %d repetitions\n\n",
		len(arts), payload, copies, len(arts)*copies, conc, reps)

	var e2e, compute, raw, published []float64
	var cpuE2E, cpuCompute, cpuRaw []float64 // CPU ms per report, this process (embedded server included)
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
		n := float64(len(reports))
		c0 := cpuMS()
		t, err := rawFloor(ctx, b.NC, payloads, reports, rep)
		if err != nil {
			return err
		}
		raw = append(raw, t)
		c1 := cpuMS()
		t, err = summariseOnly(ctx, reports, conc)
		if err != nil {
			return err
		}
		compute = append(compute, t)
		c2 := cpuMS()
		t, tp, err := endToEnd(ctx, b, reports, conc, log)
		if err != nil {
			return err
		}
		c3 := cpuMS()
		e2e = append(e2e, t)
		published = append(published, tp)
		cpuRaw = append(cpuRaw, (c1-c0)/n)
		cpuCompute = append(cpuCompute, (c2-c1)/n)
		cpuE2E = append(cpuE2E, (c3-c2)/n)
		fmt.Printf("rep %d: raw JetStream %.0f/s, summarise only %.0f/s, bantin end-to-end %.0f/s (publishing %.0f/s)\n",
			rep+1, raw[rep], compute[rep], e2e[rep], published[rep])
	}
	mRaw, mComp, mE2E := benchutil.Median(raw), benchutil.Median(compute), benchutil.Median(e2e)
	perE2E, perComp, perRaw := 1e3/mE2E, 1e3/mComp, 1e3/mRaw
	own := perE2E - perComp
	cRaw, cComp, cE2E := benchutil.Median(cpuRaw), benchutil.Median(cpuCompute), benchutil.Median(cpuE2E)
	fmt.Printf("\n| measurement (median of %d) | reports/s | wall ms/report | CPU ms/report | ratio |\n|---|---|---|---|---|\n", reps)
	fmt.Printf("| raw JetStream floor: publish+Msg-Id, pull, ack | %.0f | %.3f | %.3f | baseline for the bus part |\n", mRaw, perRaw, cRaw)
	fmt.Printf("| summarise only (extractive + faithfulness check, %d goroutines, no bus) | %.0f | %.3f | %.3f | – |\n", conc, mComp, perComp, cComp)
	fmt.Printf("| bantin end-to-end (PublishReport → worker → digest, DIGESTED, ack) | %.0f | %.3f | %.3f | %.2f× of summarise-only |\n", mE2E, perE2E, cE2E, mE2E/mComp)
	fmt.Printf("\nbantin's own share of per-report wall time: %.3f ms of %.3f ms = %.1f%% (target ≤ 10%%)\n", own, perE2E, 100*own/perE2E)
	fmt.Printf("bantin's own share of per-report CPU time: %.3f ms of %.3f ms = %.1f%% (robust to other load on the machine)\n", cE2E-cComp, cE2E, 100*(cE2E-cComp)/cE2E)
	fmt.Printf("bantin's own CPU time vs the raw JetStream floor's: %.2f×\n", (cE2E-cComp)/cRaw)
	return nil
}

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
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reports) {
					return
				}
				// The worker decodes each message into a fresh report.
				var r model.Report
				data, _ := json.Marshal(reports[i])
				if err := json.Unmarshal(data, &r); err != nil {
					errs <- err
					return
				}
				d, err := sum.Summarize(ctx, &r)
				if err != nil {
					errs <- fmt.Errorf("summarising %s: %w", r.ID, err)
					return
				}
				faithful.Check(&r, d)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(len(reports)) / time.Since(start).Seconds(), nil
}

// endToEnd publishes the reports as ingest does while a summarize worker
// consumes them, and waits for every digest. It returns reports/s end to
// end and the publishing rate alone.
func endToEnd(ctx context.Context, b *bus.Bus, reports []*model.Report, conc int, log *slog.Logger) (float64, float64, error) {
	n := len(reports)
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := b.NC.Subscribe(model.SubjectDigestPrefix+">", func(*nats.Msg) {
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return 0, 0, err
	}
	defer sub.Unsubscribe()
	if err := b.NC.Flush(); err != nil {
		return 0, 0, err
	}
	svc, err := summarize.New(summarize.Config{Concurrency: conc}, summarize.Deps{Bus: b, Summarizer: extractive.New(extractive.Config{}), Log: log})
	if err != nil {
		return 0, 0, err
	}
	wctx, stop := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() { werr <- svc.Run(wctx) }()
	for svc.Ready(ctx) != nil {
		time.Sleep(5 * time.Millisecond)
	}
	if cpuProfile != nil {
		if err := pprof.StartCPUProfile(cpuProfile); err == nil {
			defer pprof.StopCPUProfile()
		}
	}
	start := time.Now()
	var pubRate float64
	go func() {
		for _, r := range reports {
			// As ingest does: text over 512 KiB goes to the object store.
			if err := b.OffloadText(ctx, r); err != nil {
				fmt.Fprintln(os.Stderr, "offloading:", err)
				return
			}
			if _, err := b.PublishReport(ctx, r); err != nil {
				fmt.Fprintln(os.Stderr, "publishing:", err)
				return
			}
		}
		pubRate = float64(n) / time.Since(start).Seconds()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		stop()
		return 0, 0, fmt.Errorf("only %d of %d digests after 5 minutes", got.Load(), n)
	}
	rate := float64(n) / time.Since(start).Seconds()
	stop()
	if err := <-werr; err != nil {
		return 0, 0, err
	}
	return rate, pubRate, nil
}
