package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

func TestDigestCommand(t *testing.T) {
	name, pdf := samplePDF(t)
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("json", func(t *testing.T) {
		var out, errOut syncBuffer
		if code := run(ctx, []string{"digest", "--format", "json", path}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		var d model.Digest
		if err := json.Unmarshal([]byte(out.String()), &d); err != nil {
			t.Fatalf("output is not one digest: %v\n%s", err, out.String())
		}
		if d.Backend != "extractive" || d.ReportID != model.ReportID(pdf) || d.ID != model.DigestID(d.ReportID) {
			t.Errorf("backend %q report %q id %q", d.Backend, d.ReportID, d.ID)
		}
		if n := len(vntext.SplitSentences(d.Summary)); n < 2 || n > 4 {
			t.Errorf("summary has %d sentences, want 2–4: %q", n, d.Summary)
		}
		if len(d.Bullets) < 3 || len(d.Bullets) > 6 {
			t.Errorf("%d bullets, want 3–6", len(d.Bullets))
		}
		for _, b := range d.Bullets {
			if b.Page < 1 {
				t.Errorf("bullet without a page: %q", b.Text)
			}
		}
		if len(d.Figures) == 0 {
			t.Error("no figures in a report full of them")
		}
		if !norm.NFC.IsNormalString(d.Summary) || !strings.Contains(d.Summary+d.Title, "kinh tế") {
			t.Errorf("summary not NFC Vietnamese: %q", d.Summary)
		}
	})

	t.Run("text", func(t *testing.T) {
		var out, errOut syncBuffer
		if code := run(ctx, []string{"digest", path}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		for _, want := range []string{"  • ", "(tr. ", "Số liệu: ", "Tệp: " + name} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("text output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("unreadable file fails with the reason", func(t *testing.T) {
		bad := filepath.Join(dir, "hong.pdf")
		os.WriteFile(bad, []byte("%PDF-1.4\ngarbage"), 0o600)
		var out, errOut syncBuffer
		code := run(ctx, []string{"digest", path, bad}, &out, &errOut)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if !strings.Contains(errOut.String(), "hong.pdf") || !strings.Contains(errOut.String(), "1 of 2") {
			t.Errorf("stderr does not name the failed file and count: %s", errOut.String())
		}
		if !strings.Contains(out.String(), "  • ") {
			t.Error("the readable file was not digested when another failed")
		}
	})

	t.Run("usage", func(t *testing.T) {
		var out, errOut syncBuffer
		if code := run(ctx, []string{"digest"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Usage: bantin digest") {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
	})
}

func TestHelpAndEnv(t *testing.T) {
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"help"}, &out, &errOut); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for _, c := range commands() {
		if listed := strings.Contains(out.String(), "  "+c.name+" "); listed == c.hidden {
			t.Errorf("help lists %s: %v; it is hidden: %v", c.name, listed, c.hidden)
		}
	}
	var hout syncBuffer
	run(context.Background(), []string{"help", "summarize"}, &hout, &hout)
	if !strings.Contains(hout.String(), "--concurrency") || !strings.Contains(hout.String(), "[BANTIN_CONCURRENCY]") {
		t.Errorf("summarize help lacks its flags and env names:\n%s", hout.String())
	}
	var uout syncBuffer
	if code := run(context.Background(), []string{"frobnicate"}, &uout, &uout); code != 2 || !strings.Contains(uout.String(), "unknown command") {
		t.Errorf("unknown command: exit %d %q", code, uout.String())
	}

	t.Setenv("BANTIN_FORMAT", "yaml")
	var eout syncBuffer
	if code := run(context.Background(), []string{"digest", "x.pdf"}, &eout, &eout); code != 1 || !strings.Contains(eout.String(), `--format must be text or json, not "yaml"`) {
		t.Errorf("BANTIN_FORMAT not applied: exit %d %q", code, eout.String())
	}
	// The command line wins over the environment.
	var fout syncBuffer
	run(context.Background(), []string{"digest", "--format", "json", "/nonexistent.pdf"}, &fout, &fout)
	if strings.Contains(fout.String(), "--format must be") {
		t.Errorf("flag did not win over BANTIN_FORMAT: %q", fout.String())
	}
}
