// Command ocr measures the OCR stage two ways.
//
// Overhead: pages/s of the `ocr` role (services/ocr on an embedded NATS:
// report on the OCR queue, PDF from the object store, every pending page
// rendered and recognised, the report forwarded to REPORTS) next to the
// same pages done by hand the way a user scripts it — `pdftoppm -r DPI
// -gray -png -f N -l N` to a file, then `tesseract page.png out -l vie
// --psm 3` — with the same parallelism (documents at once, pages in order
// within one) and OMP_THREAD_LIMIT=1 for both, on the scanned decrees of
// the corpus, alternating, several repetitions.
//
// Accuracy vs speed: pages of text PDFs of the corpus rasterised at
// several DPIs and read with several page-segmentation modes; the score is
// the share of the page's syllables (its real text layer, by pdftotext)
// that OCR recovered, counted as a multiset.
//
//	BANTIN_CORPUS=/work/shared/corpus go run ./bench/ocr [-reps 3] [-dpis 150,200,300] [-psms 3,4,6]
//
// Needs tesseract-ocr, tesseract-ocr-vie and poppler-utils.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
	"github.com/bantin/bantin/services/ocr"
)

// scanned are the corpus' scanned PDFs and their page counts.
var scanned = []struct {
	name  string
	pages int
}{{"vi-9533-cn.signed.pdf", 4}, {"vi-b7516be2-duthao-luat-tctd-camscanner.pdf", 5}, {"vi-2239ttg.signed.pdf", 1}}

// textPages are pages of text PDFs for the accuracy table.
var textPages = []struct {
	name string
	page int
}{
	{"vi-30fb2cd2-duthao-luat-thanh-tra.pdf", 2},
	{"vi-7450de0a-totrinh-luat-pha-san.pdf", 2},
	{"vi-b46a7b80-duthao-luat-tklp.pdf", 3},
	{"vi-duthaototrinh-luat-ks.pdf", 2},
	{"vi-14-hoi-thao-tcqckt-vinacert.pdf", 2},
	{"vi-1258-1-2456-1-10-20160606.pdf", 2},
}

func main() {
	reps := flag.Int("reps", 3, "repetitions of the overhead measurement; the median is reported")
	conc := flag.Int("concurrency", 2, "reports the role OCRs at once (--ocr-concurrency), and documents at once by hand")
	dpi := flag.Int("dpi", ocr.DefaultDPI, "DPI of the overhead measurement")
	dpis := flag.String("dpis", "150,200,300", "DPIs of the accuracy table")
	psms := flag.String("psms", "3,4,6", "tesseract page-segmentation modes of the accuracy table")
	skipOverhead := flag.Bool("skip-overhead", false, "only the accuracy table")
	skipAccuracy := flag.Bool("skip-accuracy", false, "only the overhead measurement")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: BANTIN_CORPUS=/path/to/corpus go run ./bench/ocr [flags]\n\nOCR role pages/s vs pdftoppm+tesseract by hand; syllables recovered by DPI and --psm.\nNeeds tesseract-ocr, tesseract-ocr-vie and poppler-utils.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*reps, *conc, *dpi, ints(*dpis), ints(*psms), !*skipOverhead, !*skipAccuracy); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ocr:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func run(reps, conc, dpi int, dpis, psms []int, overhead, accuracy bool) error {
	if err := benchutil.NeedTools(map[string]string{"tesseract": "tesseract-ocr", "pdftoppm": "poppler-utils", "pdftotext": "poppler-utils"}); err != nil {
		return err
	}
	if out, err := exec.Command("tesseract", "--list-langs").CombinedOutput(); err != nil || !strings.Contains(string(out), "vie") {
		return fmt.Errorf("tesseract has no Vietnamese data: install the Debian package tesseract-ocr-vie")
	}
	pdfDir := filepath.Join(benchutil.CorpusDir(), "pdf")
	fmt.Printf("machine: %s\n\n", benchutil.Machine())
	if overhead {
		if err := measureOverhead(pdfDir, reps, conc, dpi); err != nil {
			return err
		}
	}
	if accuracy {
		return accuracyTable(pdfDir, dpis, psms, conc)
	}
	return nil
}

func measureOverhead(pdfDir string, reps, conc, dpi int) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "bantin-bench-ocr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: filepath.Join(dir, "nats")}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), "bench-ocr", bus.Topology{}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	total := 0
	for _, s := range scanned {
		total += s.pages
	}
	fmt.Printf("OCR overhead: %d scanned pages in %d PDFs, %d dpi, --psm 3, -l vie, %d documents at once, OMP_THREAD_LIMIT=1, %d repetitions, alternating\n\n", total, len(scanned), dpi, conc, reps)

	var role, hand []float64
	for rep := 0; rep < reps; rep++ {
		t0 := time.Now()
		if err := byHand(dir, pdfDir, conc, dpi); err != nil {
			return err
		}
		hand = append(hand, float64(total)/time.Since(t0).Seconds())
		rate, err := viaRole(ctx, b, pdfDir, conc, dpi, rep, log)
		if err != nil {
			return err
		}
		role = append(role, rate)
		fmt.Printf("rep %d: by hand %.3f pages/s, ocr role %.3f pages/s (load average %s)\n", rep+1, hand[rep], role[rep], benchutil.LoadAvg())
	}
	mh, mr := benchutil.Median(hand), benchutil.Median(role)
	fmt.Printf("\n| OCR of %d scanned pages (median of %d) | pages/s | s/page | ratio |\n|---|---|---|---|\n", total, reps)
	fmt.Printf("| pdftoppm + tesseract by hand, %d documents at once | %.3f | %.2f | 1.00 |\n", conc, mh, 1/mh)
	fmt.Printf("| bantin ocr role (NATS, object store, --ocr-concurrency %d) | %.3f | %.2f | %.3f |\n", conc, mr, 1/mr, mr/mh)
	fmt.Printf("\nbantin's own overhead: %.1f%% of the by-hand time per page (target ≤ 10%%)\n\n", 100*(mh/mr-1))
	return nil
}

// byHand runs pdftoppm then tesseract per page, as a shell script would,
// conc documents at once.
func byHand(dir, pdfDir string, conc, dpi int) error {
	return benchutil.Parallel(len(scanned), conc, func(i int) error {
		s := scanned[i]
		for p := 1; p <= s.pages; p++ {
			base := filepath.Join(dir, fmt.Sprintf("hand-%d-%d", i, p))
			if out, err := exec.Command("pdftoppm", "-r", strconv.Itoa(dpi), "-gray", "-png", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p), "-singlefile", filepath.Join(pdfDir, s.name), base).CombinedOutput(); err != nil {
				return fmt.Errorf("pdftoppm: %w: %s", err, out)
			}
			cmd := exec.Command("tesseract", base+".png", base, "-l", "vie", "--psm", "3")
			cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("tesseract: %w: %s", err, out)
			}
		}
		return nil
	})
}

// viaRole puts the scanned PDFs on the OCR queue and runs the role until
// every report is forwarded to REPORTS; it returns pages/s.
func viaRole(ctx context.Context, b *bus.Bus, pdfDir string, conc, dpi, rep int, log *slog.Logger) (float64, error) {
	var reports []*model.Report
	total := 0
	for _, s := range scanned {
		raw, err := os.ReadFile(filepath.Join(pdfDir, s.name))
		if err != nil {
			return 0, err
		}
		// A distinct id per repetition; the bytes are stored under it.
		h := sha256.Sum256(append([]byte(fmt.Sprintf("rep%d/", rep)), raw...))
		id := hex.EncodeToString(h[:])
		if err := b.StoreAttachment(ctx, id, s.name, raw); err != nil {
			return 0, err
		}
		pending := make([]int, s.pages)
		for i := range pending {
			pending[i] = i + 1
		}
		total += s.pages
		reports = append(reports, &model.Report{
			SchemaVersion: model.SchemaVersion, ID: id, Format: "pdf", SizeBytes: int64(len(raw)), Pages: s.pages,
			Source: model.Source{Site: "bench.example", AttachmentName: s.name}, Extractor: "ledongthuc/pdf",
			OCRPending: pending, CreatedAt: time.Now().UTC(),
		})
	}
	var got atomic.Int64
	done := make(chan struct{})
	count := func(*nats.Msg) {
		if got.Add(1) == int64(len(reports)) {
			close(done)
		}
	}
	sub1, err := b.NC.Subscribe(model.SubjectReportPrefix+">", count)
	if err != nil {
		return 0, err
	}
	defer sub1.Unsubscribe()
	sub2, err := b.NC.Subscribe(model.SubjectDeadPrefix+">", func(m *nats.Msg) {
		fmt.Fprintf(os.Stderr, "dead letter: %s\n", m.Data)
		count(m)
	})
	if err != nil {
		return 0, err
	}
	defer sub2.Unsubscribe()
	if err := b.NC.Flush(); err != nil {
		return 0, err
	}
	svc, err := ocr.New(ocr.Config{Concurrency: conc, DPI: dpi, Threads: 1}, ocr.Deps{Bus: b, Log: log})
	if err != nil {
		return 0, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	werr := make(chan error, 1)
	go func() { werr <- svc.Run(wctx) }()
	for svc.Ready(ctx) != nil {
		select {
		case err := <-werr:
			return 0, fmt.Errorf("ocr role stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	start := time.Now()
	for _, r := range reports {
		if _, err := b.PublishOCR(ctx, r); err != nil {
			return 0, err
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		return 0, fmt.Errorf("only %d of %d reports out of OCR after 10 minutes", got.Load(), len(reports))
	}
	rate := float64(total) / time.Since(start).Seconds()
	stop()
	return rate, <-werr
}

type cell struct {
	recall, seconds float64
}

// accuracyTable OCRs text pages at each DPI and psm and scores them
// against their text layer.
func accuracyTable(pdfDir string, dpis, psms []int, conc int) error {
	dir, err := os.MkdirTemp("", "bantin-bench-ocr-acc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	refs := make([][]string, len(textPages))
	refTotal := 0
	for i, tp := range textPages {
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-f", strconv.Itoa(tp.page), "-l", strconv.Itoa(tp.page), filepath.Join(pdfDir, tp.name), "-").Output()
		if err != nil {
			return fmt.Errorf("pdftotext %s: %w", tp.name, err)
		}
		refs[i] = vntext.Syllables(string(out))
		refTotal += len(refs[i])
	}
	fmt.Printf("OCR accuracy vs speed: %d pages of text PDFs (%d syllables in their text layers), rendered with pdftoppm -gray, tesseract -l vie, OMP_THREAD_LIMIT=1, %d pages at once\n\n", len(textPages), refTotal, conc)
	type job struct{ dpi, psm, page int }
	var jobs []job
	for _, d := range dpis {
		for _, p := range psms {
			for i := range textPages {
				jobs = append(jobs, job{d, p, i})
			}
		}
	}
	results := make([]cell, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(jobs) {
					return
				}
				j := jobs[k]
				tp := textPages[j.page]
				t0 := time.Now()
				img, err := exec.Command("pdftoppm", "-r", strconv.Itoa(j.dpi), "-gray", "-png", "-f", strconv.Itoa(tp.page), "-l", strconv.Itoa(tp.page), "-singlefile", filepath.Join(pdfDir, tp.name)).Output()
				if err != nil {
					errs <- fmt.Errorf("pdftoppm %s: %w", tp.name, err)
					return
				}
				cmd := exec.Command("tesseract", "stdin", "stdout", "-l", "vie", "--psm", strconv.Itoa(j.psm), "--dpi", strconv.Itoa(j.dpi))
				cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
				cmd.Stdin = bytes.NewReader(img)
				out, err := cmd.Output()
				if err != nil {
					errs <- fmt.Errorf("tesseract %s: %w", tp.name, err)
					return
				}
				results[k] = cell{recall: recovered(refs[j.page], vntext.Syllables(string(out))), seconds: time.Since(t0).Seconds()}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("| DPI | --psm | syllables recovered | s/page (render + OCR) |\n|---|---|---|---|\n")
	k := 0
	for _, d := range dpis {
		for _, p := range psms {
			var hit, secs float64
			for i := range textPages {
				hit += results[k].recall * float64(len(refs[i]))
				secs += results[k].seconds
				k++
			}
			fmt.Printf("| %d | %d | %.1f%% | %.2f |\n", d, p, 100*hit/float64(refTotal), secs/float64(len(textPages)))
		}
	}
	return nil
}

// recovered is the share of ref's syllables found in got, as multisets.
func recovered(ref, got []string) float64 {
	if len(ref) == 0 {
		return 0
	}
	have := map[string]int{}
	for _, s := range got {
		have[s]++
	}
	hit := 0
	for _, s := range ref {
		if have[s] > 0 {
			have[s]--
			hit++
		}
	}
	return float64(hit) / float64(len(ref))
}
