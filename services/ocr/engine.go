package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
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
}

// maxImageBytes bounds one rendered page (a 300 dpi A4 page in grey is
// about 1–3 MB as PNG); a huge poster page fails instead of eating memory.
const maxImageBytes = 256 << 20

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
}

// Page renders 1-based page n of the PDF file at path and recognises it.
// Cancelling ctx kills the child processes.
func (e *Engine) Page(ctx context.Context, path string, n int) (*PageText, error) {
	img, err := e.run(ctx, nil, e.Pdftoppm, "-r", strconv.Itoa(e.DPI), "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-gray", "-png", path)
	if err != nil {
		return nil, fmt.Errorf("rendering page %d: %w", n, err)
	}
	if len(img) == 0 {
		return nil, fmt.Errorf("rendering page %d: pdftoppm produced no image", n)
	}
	return e.Image(ctx, img)
}

// Image recognises one image (PNG, JPEG, TIFF…).
func (e *Engine) Image(ctx context.Context, img []byte) (*PageText, error) {
	out, err := e.run(ctx, img, e.Tesseract, "stdin", "stdout", "-l", e.Lang, "--psm", "3", "--dpi", strconv.Itoa(e.DPI), "tsv")
	if err != nil {
		return nil, fmt.Errorf("recognising text: %w", err)
	}
	return parseTSV(out), nil
}

// run runs exe with args, stdin as its input, and returns its output.
func (e *Engine) run(ctx context.Context, stdin []byte, exe string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if e.Threads > 0 {
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT="+strconv.Itoa(e.Threads))
	}
	out := &capped{limit: maxImageBytes}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", exe, ctx.Err())
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v; %s", ErrNotInstalled, err, InstallHint)
		}
		return nil, fmt.Errorf("%s: %v: %s", exe, err, lastLines(stderr.String()))
	}
	if out.over {
		return nil, fmt.Errorf("%s: output larger than %d MiB; lower --ocr-dpi", exe, maxImageBytes>>20)
	}
	return out.Bytes(), nil
}

// capped is a buffer that keeps at most limit bytes and notes the excess.
type capped struct {
	bytes.Buffer
	limit int
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.Len(); len(p) > room {
		c.over = true
		if room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

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
