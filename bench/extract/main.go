// Command extract benchmarks bantin's PDF text extraction against poppler's
// pdftotext on the text PDFs of the shared corpus: for each file, the
// character-level similarity of the two texts after white space is
// normalised, and the throughput in pages per second of both, measured
// side by side in one run (bantin in process, pdftotext one process per
// file as a user would script it), the median of several repetitions.
//
// Usage:
//
//	BANTIN_CORPUS=/path/to/shared/corpus go run ./bench/extract [-n 3]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/services/ingest/extract"
)

func main() {
	corpus := flag.String("corpus", os.Getenv("BANTIN_CORPUS"), "shared corpus directory (its pdf/ folder is read); default $BANTIN_CORPUS")
	reps := flag.Int("n", 3, "repetitions of the throughput runs; the median is reported")
	flag.Parse()
	if err := run(*corpus, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench/extract:", err)
		os.Exit(1)
	}
}

// file is one text PDF of the corpus and what both extractors made of it.
type file struct {
	name              string
	data              []byte
	pages             int
	bantin, pdftotext []string // text per page, white space normalised
	pipeline          []string // bantin with its per-page pdftotext fallback
	similarity        float64
	pipelineSim       float64
	// stampOnly marks a scanned PDF whose only text layer is the digital
	// signature stamp ("Người ký: …"): not a text PDF, the OCR role reads it.
	stampOnly bool
	note      string
}

// isStampOnly reports whether pdftotext's whole output is a signature
// stamp, as on chinhphu.vn's signed scans.
func isStampOnly(pages []string) bool {
	all := strings.Join(pages, " ")
	return strings.Contains(all, "Người ký") && len([]rune(all)) < 300
}

func run(corpus string, reps int) error {
	if corpus == "" {
		return fmt.Errorf("set BANTIN_CORPUS or -corpus to the shared corpus directory")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		return fmt.Errorf("pdftotext not found: install the Debian package poppler-utils")
	}
	paths, err := filepath.Glob(filepath.Join(corpus, "pdf", "*.pdf"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no PDFs in %s/pdf", corpus)
	}
	ctx := context.Background()
	var files []*file
	var emptyForBantin []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ref, err := pdftotextPages(ctx, pdftotext, p)
		if err != nil || chars(ref) == 0 {
			continue // not a text PDF (a scan, not a PDF, or needs a password)
		}
		f := &file{name: filepath.Base(p), data: data, pdftotext: ref, pages: len(ref), stampOnly: isStampOnly(ref)}
		doc, err := extract.PDF(ctx, data)
		if doc != nil {
			f.bantin = pagesOf(doc, len(ref))
		}
		if chars(f.bantin) == 0 {
			emptyForBantin = append(emptyForBantin, f.name)
			f.note = fmt.Sprintf("bantin: %v", err)
		}
		f.similarity = similarity(f.bantin, f.pdftotext)
		if doc, _ := extract.PDFWith(ctx, data, extract.Options{Pdftotext: pdftotext}); doc != nil {
			f.pipeline = pagesOf(doc, len(ref))
		}
		f.pipelineSim = similarity(f.pipeline, f.pdftotext)
		files = append(files, f)
	}

	// Throughput, side by side: bantin in process, then pdftotext one
	// process per file, repeated.
	var bantinTimes, popplerTimes []float64
	totalPages := 0
	for _, f := range files {
		totalPages += f.pages
	}
	for range reps {
		start := time.Now()
		for _, f := range files {
			_, _ = extract.PDF(ctx, f.data)
		}
		bantinTimes = append(bantinTimes, time.Since(start).Seconds())
		start = time.Now()
		for _, f := range files {
			_ = exec.Command(pdftotext, "-enc", "UTF-8", filepath.Join(corpus, "pdf", f.name), "-").Run()
		}
		popplerTimes = append(popplerTimes, time.Since(start).Seconds())
	}

	fmt.Printf("Machine: %d cores, %s, %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("Corpus: %s/pdf, %d text PDFs (pdftotext prints text), %d pages\n\n", corpus, len(files), totalPages)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tpages\tpdftotext chars\tbantin chars\tsimilarity\twith fallback: chars\twith fallback: similarity\t")
	var sims, textSims, pipeSims []float64
	for _, f := range files {
		name := f.name
		if f.stampOnly {
			name += " (scan: stamp only)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%d\t%.3f\t\n", name, f.pages, chars(f.pdftotext), chars(f.bantin), f.similarity, chars(f.pipeline), f.pipelineSim)
		sims = append(sims, f.similarity)
		if !f.stampOnly {
			textSims = append(textSims, f.similarity)
			pipeSims = append(pipeSims, f.pipelineSim)
		}
	}
	tw.Flush()
	fmt.Printf("\nmedian similarity %.3f over all %d files where pdftotext prints text (mean %.3f)\n", median(sims), len(sims), mean(sims))
	fmt.Printf("median similarity %.3f over the %d text PDFs (signature-stamp-only scans left out; mean %.3f)\n", median(textSims), len(textSims), mean(textSims))
	fmt.Printf("median similarity %.3f over the %d text PDFs as the ingest pipeline reads them (with the pdftotext fallback; mean %.3f)\n", median(pipeSims), len(pipeSims), mean(pipeSims))
	b, p := median(bantinTimes), median(popplerTimes)
	fmt.Printf("throughput (median of %d runs): bantin %.1f pages/s (%.2f s), pdftotext %.1f pages/s (%.2f s), ratio %.2f\n",
		reps, float64(totalPages)/b, b, float64(totalPages)/p, p, p/b)
	if len(emptyForBantin) > 0 {
		fmt.Printf("\nfiles where bantin's own parser returns nothing but pdftotext prints text:\n")
		for _, f := range files {
			if slices.Contains(emptyForBantin, f.name) {
				fmt.Printf("  %s: pdftotext %d chars; with the fallback %d chars; %s\n", f.name, chars(f.pdftotext), chars(f.pipeline), f.note)
			}
		}
	}
	return nil
}

// pdftotextPages runs pdftotext on path and returns each page's text,
// white space normalised.
func pdftotextPages(ctx context.Context, exe, path string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		return nil, err
	}
	pages := strings.Split(string(bytes.ToValidUTF8(out, []byte("\uFFFD"))), "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	for i, p := range pages {
		pages[i] = normalize(p)
	}
	return pages, nil
}

// pagesOf returns bantin's text per page, white space normalised: each
// paragraph on the page it starts on.
func pagesOf(doc *extract.Document, n int) []string {
	pages := make([]string, max(n, doc.Pages))
	for _, p := range doc.Paragraphs {
		if i := p.Page - 1; i >= 0 && i < len(pages) {
			pages[i] += " " + p.Text
		}
	}
	for i, p := range pages {
		pages[i] = normalize(p)
	}
	return pages
}

// normalize is NFC with every run of white space made one space, trimmed.
func normalize(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func chars(pages []string) int {
	n := 0
	for _, p := range pages {
		for _, r := range p {
			if !unicode.IsSpace(r) {
				n++
			}
		}
	}
	return n
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(max(len(xs), 1))
}
