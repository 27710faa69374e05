// Command extract-throughput measures pages/s of bantin's extractor with
// the ingest worker's concurrency (2 documents at once) next to poppler's
// pdftotext run the way a user would script it, one process per file, on
// the corpus PDFs and on a generated 300-page report, side by side in one
// run; and the peak RSS of extracting the 300-page report.
//
// bantin is measured as the ingest role runs it (--isolate-parsing, the
// default: an extract.Pool of `bantin extract-child` processes, one per
// concurrent document, each serving many documents; a fresh pool per
// timed run, closed at its end, so its start is counted and its children's
// CPU time is reaped into this process's rusage), with one
// child process per document (the earlier isolation), and in process
// (extract.Extract). All use the per-page pdftotext fallback, as ingest
// does. The per-file similarity table is bench/extract's.
//
//	BANTIN_CORPUS=/work/shared/corpus go run ./bench/extract-throughput [-reps 5]
//
// Two figures per method: pages per wall-clock second, and pages per CPU
// second (user + system of this process and every child it waited for,
// pdftotext included), which a busy shared machine disturbs less.
//
// The 300-page report is generated with LibreOffice from HTML: one
// VietNews article of the corpus per page (0.9 MiB). A second 300-page
// file joins pages 1–256 of vi-8-tailieu-luat-nha-giao-256p.pdf and 1–44
// of vi-IUCN-2008-016-Vi.pdf with pdfseparate and pdfunite, so every page
// carries its own fonts (57 MiB): a stress case. Needs poppler-utils
// (pdftotext, pdfinfo, pdfseparate, pdfunite), libreoffice-writer
// (soffice) and GNU time (Debian package time). Run it from the repository root (it builds bantin).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/services/ingest/extract"
)

func main() {
	reps := flag.Int("reps", 5, "repetitions; the median is reported")
	conc := flag.Int("concurrency", 2, "documents bantin extracts at once (the ingest worker's concurrency)")
	child := flag.String("child", "", "extract this one file (or every PDF of this directory) in process and exit (used for the peak RSS measurement; with -cpuprofile/-memprofile for pprof)")
	keep := flag.String("keep", "", "write the generated 300-page report and the pdfunite file to this directory (report-300p.pdf, joined-300p.pdf) and keep them, for -child; with -reps 0 only that")
	cpuprof := flag.String("cpuprofile", "", "with -child: write a CPU profile here")
	memprof := flag.String("memprofile", "", "with -child: write a heap (alloc_space) profile here")
	repeat := flag.Int("repeat", 1, "with -child: extract the file this many times in the one process and print the time of the first (cold) and the median of the others (warm)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: BANTIN_CORPUS=/path/to/corpus go run ./bench/extract-throughput [flags]\n\nPages/s of bantin's extractor (concurrency 2) vs pdftotext one process per file; peak RSS on a 300-page report.\nNeeds poppler-utils.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *child != "" {
		if *cpuprof != "" {
			if f, err := os.Create(*cpuprof); err == nil {
				_ = pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		files, err := childFiles(*child)
		var times []float64
		for i := 0; i < max(*repeat, 1) && err == nil; i++ {
			start := time.Now()
			for _, data := range files {
				if _, xerr := extract.Extract(context.Background(), data); len(files) == 1 {
					err = xerr
				}
			}
			times = append(times, float64(time.Since(start).Microseconds())/1000)
		}
		if len(times) > 1 {
			fmt.Printf("first (cold) %.1f ms, median of the other %d (warm) %.1f ms\n", times[0], len(times)-1, benchutil.Median(times[1:]))
		}
		if *memprof != "" {
			if f, err := os.Create(*memprof); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return
	}
	if err := run(*reps, *conc, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/extract-throughput:", err)
		os.Exit(1)
	}
}

type doc struct {
	path  string
	pages int
	data  []byte
}

// childFiles reads path, or every PDF in it when it is a directory.
func childFiles(path string) ([][]byte, error) {
	paths := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		paths, _ = filepath.Glob(filepath.Join(path, "*.pdf"))
		sort.Strings(paths)
	}
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}

func run(reps, conc int, keep string) error {
	if err := benchutil.NeedTools(map[string]string{"soffice": "libreoffice-writer", "time": "time", "pdftotext": "poppler-utils", "pdfinfo": "poppler-utils", "pdfseparate": "poppler-utils", "pdfunite": "poppler-utils"}); err != nil {
		return err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bantin-bench-extract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gen := dir
	if keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return err
		}
		gen = keep
	}
	exe := filepath.Join(dir, "bantin")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("building bantin (go build -o %s .): %w\n%s", exe, err, out)
	}
	pdfDir := filepath.Join(benchutil.CorpusDir(), "pdf")
	paths, err := filepath.Glob(filepath.Join(pdfDir, "*.pdf"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no PDFs in %s: set BANTIN_CORPUS to the shared corpus directory", pdfDir)
	}
	sort.Strings(paths)
	corpus, err := load(paths)
	if err != nil {
		return err
	}
	big, err := makeReport(gen)
	if err != nil {
		return err
	}
	report, err := load([]string{big})
	if err != nil {
		return err
	}
	joinedPath, err := makeJoined(gen, pdfDir)
	if err != nil {
		return err
	}
	joined, err := load([]string{joinedPath})
	if err != nil {
		return err
	}
	if reps <= 0 {
		fmt.Printf("wrote %s and %s\n", big, joinedPath)
		return nil
	}
	iso := extract.Isolated{Exe: exe, Args: []string{"extract-child"}, MaxMemory: 2 << 30, Workers: conc}
	started := 0

	fmt.Printf("machine: %s\n", benchutil.Machine())
	fmt.Printf("corpus: %d PDFs, %d pages; 300-page report (LibreOffice): %d pages, %.1f MiB; joined (pdfunite): %d pages, %.1f MiB; bantin concurrency %d; %d repetitions, alternating\n\n",
		len(corpus), pages(corpus), pages(report), float64(len(report[0].data))/(1<<20), pages(joined), float64(len(joined[0].data))/(1<<20), conc, reps)

	type method struct {
		name string
		fn   func([]doc) error
	}
	methods := []method{
		{"pdftotext, one process per file", func(ds []doc) error { return pdftotext(ctx, ds, 1) }},
		{fmt.Sprintf("pdftotext, one process per file, %d at once (xargs -P%d)", conc, conc), func(ds []doc) error { return pdftotext(ctx, ds, conc) }},
		{fmt.Sprintf("bantin as ingest runs it (pool of %d extract-child processes)", conc), func(ds []doc) error {
			pool := extract.NewPool(iso)
			err := parallel(ds, conc, func(d doc) { _, _ = pool.Extract(ctx, d.data) })
			started += pool.Started()
			return errors.Join(err, pool.Close())
		}},
		{fmt.Sprintf("bantin, one extract-child process per file, %d at once", conc), func(ds []doc) error {
			return parallel(ds, conc, func(d doc) { _, _ = iso.Extract(ctx, d.data) })
		}},
		{fmt.Sprintf("bantin in process (%d goroutines)", conc), func(ds []doc) error {
			return parallel(ds, conc, func(d doc) { _, _ = extract.Extract(ctx, d.data) })
		}},
	}
	sets := []struct {
		name string
		docs []doc
	}{{"corpus", corpus}, {"300-page report (LibreOffice)", report}, {"300 pages joined by pdfunite", joined}}
	res := map[string][]float64{}
	cpuRes := map[string][]float64{}
	for rep := 0; rep < reps; rep++ {
		for _, set := range sets {
			for _, m := range methods {
				start, cpu0 := time.Now(), cpuTime()
				if err := m.fn(set.docs); err != nil {
					return err
				}
				wall, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
				res[set.name+"|"+m.name] = append(res[set.name+"|"+m.name], float64(pages(set.docs))/wall)
				cpuRes[set.name+"|"+m.name] = append(cpuRes[set.name+"|"+m.name], float64(pages(set.docs))/cpu)
			}
		}
		fmt.Printf("rep %d done (load average %s)\n", rep+1, benchutil.LoadAvg())
	}
	fmt.Printf("\npools: %d extract-child processes started in all, over %d timed pool runs of %d workers\n", started, reps*len(sets), conc)
	for _, set := range sets {
		base := benchutil.Median(res[set.name+"|"+methods[0].name])
		cpuBase := benchutil.Median(cpuRes[set.name+"|"+methods[0].name])
		fmt.Printf("\n%s (%d pages), median of %d:\n\n| extractor | pages/s (wall) | ratio | pages per CPU-second | ratio |\n|---|---|---|---|---|\n", set.name, pages(set.docs), reps)
		for _, m := range methods {
			v := benchutil.Median(res[set.name+"|"+m.name])
			c := benchutil.Median(cpuRes[set.name+"|"+m.name])
			fmt.Printf("| %s | %.1f | %.2f× | %.1f | %.2f× |\n", m.name, v, v/base, c, c/cpuBase)
		}
	}

	// Peak RSS of one extraction of the 300-page report, each in its own process.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("\npeak RSS of one extraction, one process each (GNU time %%M; target ≤ 256 MiB on the 300-page report):\n\n| process | 300-page report (LibreOffice) | 300 pages joined by pdfunite |\n|---|---|---|\n")
	for _, c := range []struct {
		name string
		cmd  func(path string) (*exec.Cmd, string)
	}{
		{"bantin extract-child (as ingest runs it)", func(p string) (*exec.Cmd, string) { return exec.Command(exe, "extract-child"), p }},
		{"bantin in process (extract.Extract; this benchmark re-executed with -child)", func(p string) (*exec.Cmd, string) { return exec.Command(self, "-child", p), "" }},
		{"pdftotext", func(p string) (*exec.Cmd, string) {
			return exec.Command("pdftotext", p, filepath.Join(dir, "out.txt")), ""
		}},
	} {
		var cells []string
		for _, p := range []string{big, joinedPath} {
			cmd, stdin := c.cmd(p)
			rss, err := peakRSS(cmd, stdin)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			cells = append(cells, fmt.Sprintf("%.1f MiB", rss))
		}
		fmt.Printf("| %s | %s |\n", c.name, strings.Join(cells, " | "))
	}
	return nil
}

// cpuTime returns the user and system CPU seconds of this process and of
// the children it has waited for.
func cpuTime() float64 {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func load(paths []string) ([]doc, error) {
	var out []doc
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		n := 0
		if info, err := exec.Command("pdfinfo", p).Output(); err == nil {
			for _, line := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(line, "Pages:"); ok {
					n, _ = strconv.Atoi(strings.TrimSpace(v))
				}
			}
		}
		out = append(out, doc{path: p, pages: n, data: data})
	}
	return out, nil
}

func pages(ds []doc) int {
	n := 0
	for _, d := range ds {
		n += d.pages
	}
	return n
}

// makeReport writes a 300-page report with LibreOffice: one VietNews
// article of the corpus (cut to 2,200 characters) per page, each under a
// numbered heading that starts a new page, in 12-point DejaVu Serif.
func makeReport(dir string) (string, error) {
	arts, err := benchutil.VietNews(benchutil.CorpusDir())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`<html><head><meta charset="utf-8"><style>body{font-family:"DejaVu Serif";font-size:12pt} h2{page-break-before:always}</style></head><body>`)
	for i := 0; i < 300; i++ {
		a := arts[i%len(arts)]
		text := []rune(a.Text)
		text = text[:min(len(text), 2200)]
		fmt.Fprintf(&b, "<h2>Mục %d. %s</h2><p>%s</p>\n", i+1, html.EscapeString(a.Title), strings.ReplaceAll(html.EscapeString(string(text)), "\n", "</p><p>"))
	}
	b.WriteString("</body></html>")
	src := filepath.Join(dir, "report-300p.html")
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	// A profile of our own, so a LibreOffice already running elsewhere does not take the job.
	cmd := exec.Command("soffice", "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--headless",
		"--infilter=HTML (StarWriter)", "--convert-to", "pdf:writer_pdf_Export", "--outdir", dir, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("soffice: %w: %s", err, out)
	}
	return filepath.Join(dir, "report-300p.pdf"), nil
}

// makeJoined joins pages 1–256 of the 256-page corpus PDF and 1–44 of the
// IUCN report with pdfseparate and pdfunite: 300 pages, each carrying its
// own copy of its fonts (59 MB), a stress case for the font cache.
func makeJoined(dir, pdfDir string) (string, error) {
	parts := filepath.Join(dir, "parts")
	if err := os.MkdirAll(parts, 0o755); err != nil {
		return "", err
	}
	var files []string
	for _, src := range []struct {
		name string
		last int
	}{{"vi-8-tailieu-luat-nha-giao-256p.pdf", 256}, {"vi-IUCN-2008-016-Vi.pdf", 44}} {
		pat := filepath.Join(parts, strings.TrimSuffix(src.name, ".pdf")+"-%03d.pdf")
		if out, err := exec.Command("pdfseparate", "-f", "1", "-l", strconv.Itoa(src.last), filepath.Join(pdfDir, src.name), pat).CombinedOutput(); err != nil {
			return "", fmt.Errorf("pdfseparate %s: %w: %s", src.name, err, out)
		}
		for i := 1; i <= src.last; i++ {
			files = append(files, fmt.Sprintf(pat, i))
		}
	}
	out := filepath.Join(dir, "joined-300p.pdf")
	if msg, err := exec.Command("pdfunite", append(files, out)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("pdfunite: %w: %s", err, msg)
	}
	return out, nil
}

// pdftotext runs one pdftotext process per file, conc at once.
func pdftotext(ctx context.Context, ds []doc, conc int) error {
	return parallel(ds, conc, func(d doc) {
		_ = exec.CommandContext(ctx, "pdftotext", "-enc", "UTF-8", d.path, os.DevNull).Run()
	})
}

func parallel(ds []doc, conc int, f func(doc)) error {
	return benchutil.Parallel(len(ds), conc, func(i int) error { f(ds[i]); return nil })
}

// peakRSS runs cmd under GNU time (with stdin from the named file, if
// any) and returns its peak resident set size in MiB. The rusage of a
// process started directly from this one would report this process's
// peak instead: Linux carries the parent's high-water mark across the
// vfork+exec that os/exec uses.
func peakRSS(cmd *exec.Cmd, stdin string) (float64, error) {
	out, err := os.CreateTemp("", "bantin-rss-")
	if err != nil {
		return 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	timed := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out.Name()}, cmd.Args...)...)
	if stdin != "" {
		b, err := os.ReadFile(stdin)
		if err != nil {
			return 0, err
		}
		timed.Stdin = bytes.NewReader(b)
	}
	var stderr bytes.Buffer
	timed.Stderr = &stderr
	if err := timed.Run(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, stderr.String())
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return 0, err
	}
	kib, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("reading GNU time's output %q: %w", b, err)
	}
	return float64(kib) / 1024, nil
}
