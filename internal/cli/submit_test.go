package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/testenv"
)

// submitCorpus returns the shared corpus root, skipping without it unless
// BANTIN_TEST_STRICT=1.
func submitCorpus(t *testing.T) string {
	t.Helper()
	return testenv.Corpus(t)
}

// TestSubmitFolderOfCorpusFiles runs `bantin submit DIR` on a folder of
// real reports: text PDFs, a scanned decree and broken files.
func TestSubmitFolderOfCorpusFiles(t *testing.T) {
	corpus := submitCorpus(t)
	dir := t.TempDir()
	files := []string{
		"vi-14-hoi-thao-tcqckt-vinacert.pdf", // text
		"vi-6-ban-tin-nhanh-so-2.pdf",        // text
		"vi-2239ttg.signed.pdf",              // scanned decree: OCR or no_text
		"pdfminer-aes-256-r6.pdf",            // needs a password
		"pdfminer-rc4-40.pdf",                // needs a password
	}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(corpus, "pdf", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()

	submitDir := func() (code int, stdout, stderr string) {
		var out, errb bytes.Buffer
		code = run(context.Background(), []string{"submit", "--nats", ns.ClientURL(), "--log-level", "error", dir}, &out, &errb)
		return code, out.String(), errb.String()
	}
	summary := regexp.MustCompile(`submitted 5 target\(s\) in \S+: (\d+) queued, (\d+) duplicate, (\d+) failed`)

	code, out, progress := submitDir()
	if code != 1 {
		t.Errorf("exit code %d, want 1 (some reports failed)", code)
	}
	m := summary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	if m[1] != "3" || m[2] != "0" || m[3] != "2" {
		t.Errorf("first run: %s; want 3 queued (two text PDFs and the scan), 0 duplicate, 2 failed\n%s", m[0], progress)
	}
	for _, f := range files {
		if !regexp.MustCompile(`\[[1-5]/5\] ` + regexp.QuoteMeta(f) + `: `).MatchString(progress) {
			t.Errorf("progress lacks a [i/5] line for %s:\n%s", f, progress)
		}
	}
	if !strings.Contains(progress, "[1/5] ") || !strings.Contains(progress, "[5/5] ") {
		t.Errorf("progress does not count from 1/5 to 5/5:\n%s", progress)
	}
	if !regexp.MustCompile(`\[\d+(\.\d)?/s\]`).MatchString(progress) {
		t.Errorf("progress lacks the rate:\n%s", progress)
	}
	for _, f := range []string{"pdfminer-aes-256-r6.pdf", "pdfminer-rc4-40.pdf"} {
		if !regexp.MustCompile(`failed: ` + regexp.QuoteMeta(f) + `: [a-z_]+`).MatchString(out) {
			t.Errorf("summary does not list %s as failed with a reason:\n%s", f, out)
		}
	}

	// A second run: every report is already queued.
	_, out, progress = submitDir()
	m = summary.FindStringSubmatch(out)
	if m == nil || m[1] != "0" || m[2] != "3" || m[3] != "2" {
		t.Errorf("second run: %q; want 0 queued, 3 duplicate, 2 failed\n%s\n%s", m, out, progress)
	}
}
