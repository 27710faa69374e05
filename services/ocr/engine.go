package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/proclimit"
)

// ErrNotInstalled means the OCR tools (tesseract with its language data,
// poppler's pdftoppm) cannot be run here. The message says what to install.
var ErrNotInstalled = errors.New("OCR tools not installed")

// InstallHint says how to get the tools on Debian and Ubuntu.
const InstallHint = "install the Debian packages tesseract-ocr tesseract-ocr-vie poppler-utils"

// Engine renders PDF pages with poppler's pdftoppm and recognises them with
// tesseract. Its zero value is not usable; see Config for the defaults.
type Engine struct {
	// Pdftoppm and Tesseract are the programs, as paths or names looked
	// up on PATH.
	Pdftoppm, Tesseract string
	// Lang is tesseract's -l argument: "vie", or "vie+eng".
	Lang string
	// DPI is the resolution pages are rendered at.
	DPI int
	// Threads caps tesseract's OpenMP threads (OMP_THREAD_LIMIT); 0 leaves
	// tesseract's default. Pages and workers run in parallel instead.
	Threads int
	// RenderMemory caps the address space of pdftoppm and pdfinfo, in
	// bytes (RLIMIT_AS); 0 is DefaultRenderMemory.
	RenderMemory int64
}

// Bounds on rendering one page, whatever the PDF says.
const (
	// maxImageBytes bounds one rendered page (a 300 dpi A4 page in grey
	// is about 1–3 MB as PNG).
	maxImageBytes = 256 << 20
	// MaxRenderSide is the most pixels a rendered page has on a side: a
	// page larger than that at the DPI (A1 and up at 300 dpi) is rendered
	// at the DPI that fits, and pdftoppm crops its bitmap to it in any
	// case (-W, -H), so a poster page of 200 inches is 8000×8000 pixels
	// (64 MB in grey), not 60000×60000 (3.6 GB).
	MaxRenderSide = 8000
	// DefaultRenderMemory is pdftoppm's address-space limit: the bitmap
	// of a page at the MaxRenderSide cap and poppler's own structures fit
	// well inside it.
	DefaultRenderMemory = 1 << 30
	// maxStderr bounds the error output kept from a tool: poppler writes a
	// line per excess operand of a hostile content stream (900 MB from a
	// 33 kB file), which must not pile up in the worker.
	maxStderr = 64 << 10
)

// Check reports whether the tools run and tesseract has every language of
// Lang, and returns the engine's name ("tesseract 5.3.0 vie"). The error
// wraps ErrNotInstalled when something is missing.
func (e *Engine) Check(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := exec.LookPath(e.Pdftoppm); err != nil {
		return "", fmt.Errorf("%w: pdftoppm not found (%v); %s", ErrNotInstalled, err, InstallHint)
	}
	if _, err := exec.LookPath(e.Tesseract); err != nil {
		return "", fmt.Errorf("%w: tesseract not found (%v); %s", ErrNotInstalled, err, InstallHint)
	}
	out, err := exec.CommandContext(ctx, e.Tesseract, "--list-langs").CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("running tesseract --list-langs: %w", ctx.Err())
		}
		return "", fmt.Errorf("%w: tesseract --list-langs failed: %v: %s; %s", ErrNotInstalled, err, firstLine(out), InstallHint)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	for _, lang := range strings.Split(e.Lang, "+") {
		if !have[lang] {
			return "", fmt.Errorf("%w: tesseract has no language data for %q; install the Debian package tesseract-ocr-%s (%s)", ErrNotInstalled, lang, lang, InstallHint)
		}
	}
	name := "tesseract"
	if v, err := exec.CommandContext(ctx, e.Tesseract, "--version").CombinedOutput(); err == nil {
		name = strings.TrimSpace(firstLine(v))
	}
	return name + " " + e.Lang, nil
}

// PageText is what OCR read on one page.
type PageText struct {
	// Lines are the recognised lines in reading order, with an empty line
	// between tesseract's paragraphs.
	Lines []string
	// Words counts the recognised words; Confidence is their mean
	// confidence, 0–100.
	Words      int
	Confidence float64
	// DPI is the resolution the page was rendered at: Engine.DPI, or less
	// for a page too large for it (MaxRenderSide).
	DPI int
}

// Page renders 1-based page n of the PDF file at path and recognises it.
// The rendering is bounded whatever the page says: at most MaxRenderSide
// pixels a side (a lower DPI for a huge page), RenderMemory of address
// space for pdftoppm, 64 KiB of its error output kept. Cancelling ctx
// kills the child processes.
func (e *Engine) Page(ctx context.Context, path string, n int) (*PageText, error) {
	dpi := e.DPI
	if side, err := e.pageSide(ctx, path, n); err == nil && side*float64(dpi)/72 > MaxRenderSide {
		dpi = max(1, int(MaxRenderSide*72/side))
	}
	maxSide := strconv.Itoa(MaxRenderSide)
	img, err := e.run(ctx, nil, true, e.Pdftoppm, "-r", strconv.Itoa(dpi), "-W", maxSide, "-H", maxSide,
		"-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-gray", "-png", path)
	if err != nil {
		return nil, fmt.Errorf("rendering page %d: %w", n, err)
	}
	if len(img) == 0 {
		return nil, fmt.Errorf("rendering page %d: pdftoppm produced no image", n)
	}
	pt, err := e.image(ctx, img, dpi)
	if err != nil {
		return nil, err
	}
	pt.DPI = dpi
	return pt, nil
}

// pageSide returns the longer side of page n's MediaBox (what pdftoppm
// renders) in points, read by poppler's pdfinfo beside pdftoppm.
func (e *Engine) pageSide(ctx context.Context, path string, n int) (float64, error) {
	exe := "pdfinfo"
	if dir := filepath.Dir(e.Pdftoppm); dir != "." {
		exe = filepath.Join(dir, "pdfinfo")
	}
	out, err := e.run(ctx, nil, true, exe, "-box", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		_, box, ok := strings.Cut(line, "MediaBox:")
		if !ok {
			continue
		}
		f := strings.Fields(box)
		if len(f) != 4 {
			break
		}
		var v [4]float64
		for i := range f {
			if v[i], err = strconv.ParseFloat(f[i], 64); err != nil {
				return 0, fmt.Errorf("reading pdfinfo's MediaBox %q: %w", box, err)
			}
		}
		return max(v[2]-v[0], v[0]-v[2], v[3]-v[1], v[1]-v[3]), nil
	}
	return 0, fmt.Errorf("pdfinfo printed no MediaBox for page %d", n)
}

// Image recognises one image (PNG, JPEG, TIFF…) at Engine.DPI.
func (e *Engine) Image(ctx context.Context, img []byte) (*PageText, error) {
	return e.image(ctx, img, e.DPI)
}

// image recognises one image rendered at dpi.
func (e *Engine) image(ctx context.Context, img []byte, dpi int) (*PageText, error) {
	out, err := e.run(ctx, img, false, e.Tesseract, "stdin", "stdout", "-l", e.Lang, "--psm", "3", "--dpi", strconv.Itoa(dpi), "tsv")
	if err != nil {
		return nil, fmt.Errorf("recognising text: %w", err)
	}
	return parseTSV(out), nil
}

// run runs exe with args, stdin as its input, and returns its output;
// with limit, under the RenderMemory address-space limit.
func (e *Engine) run(ctx context.Context, stdin []byte, limit bool, exe string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(exe); err != nil {
		return nil, fmt.Errorf("%w: %v; %s", ErrNotInstalled, err, InstallHint)
	}
	name, argv := exe, args
	memory := e.RenderMemory
	if memory <= 0 {
		memory = DefaultRenderMemory
	}
	if limit {
		name, argv = proclimit.Memory(memory, exe, args)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if e.Threads > 0 {
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT="+strconv.Itoa(e.Threads))
	}
	out := &capped{limit: maxImageBytes}
	stderr := &capped{limit: maxStderr}
	cmd.Stdout, cmd.Stderr = out, stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil && limit && strings.Contains(stderr.String(), "Out of memory") {
		// poppler reports a failed allocation and exits 0 with a stub image.
		err = errors.New("out of memory")
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", exe, ctx.Err())
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v; %s", ErrNotInstalled, err, InstallHint)
		}
		hint := ""
		var ee *exec.ExitError
		killed := errors.As(err, &ee) && !ee.Exited() // SIGABRT, SIGSEGV: an allocation failed
		if limit && (killed || strings.Contains(stderr.String(), "Out of memory")) {
			hint = fmt.Sprintf(" (rendering may use at most %d MiB of memory; a page that needs more is hostile or broken)", memory>>20)
		}
		return nil, fmt.Errorf("%s: %v: %s%s", exe, err, lastLines(stderr.String()), hint)
	}
	if out.over {
		return nil, fmt.Errorf("%s: output larger than %d MiB; lower --ocr-dpi", exe, maxImageBytes>>20)
	}
	return out.Bytes(), nil
}

// capped is a buffer that keeps at most limit bytes and notes the excess.
// It is an io.Writer only: a bytes.Buffer it embedded would lend it
// ReadFrom, which io.Copy (and so os/exec) prefers to Write, reading the
// whole output past the cap.
type capped struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.buf.Len(); len(p) > room {
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// Bytes returns what was kept.
func (c *capped) Bytes() []byte { return c.buf.Bytes() }

// String returns what was kept as a string.
func (c *capped) String() string { return c.buf.String() }

// parseTSV reads tesseract's tsv output: one row per block, paragraph,
// line and word, the words with a confidence.
func parseTSV(data []byte) *PageText {
	pt := &PageText{}
	var line []string
	var sum float64
	type key struct{ block, par, line string }
	var cur key
	flush := func() {
		if len(line) > 0 {
			pt.Lines = append(pt.Lines, strings.Join(line, " "))
			line = line[:0]
		}
	}
	for i, row := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if i == 0 || len(f) < 12 || f[0] != "5" {
			continue
		}
		text := strings.TrimSpace(f[11])
		conf, err := strconv.ParseFloat(f[10], 64)
		if text == "" || err != nil || conf < 0 {
			continue
		}
		k := key{f[2], f[3], f[4]}
		if k != cur {
			flush()
			if len(pt.Lines) > 0 && (k.block != cur.block || k.par != cur.par) {
				pt.Lines = append(pt.Lines, "")
			}
			cur = k
		}
		line = append(line, text)
		pt.Words++
		sum += conf
	}
	flush()
	if pt.Words > 0 {
		pt.Confidence = sum / float64(pt.Words)
	}
	return pt
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// lastLines keeps the end of a tool's error output, where the cause is.
func lastLines(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return s
}
