package ocr

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/testenv"
	"github.com/bantin/bantin/services/ingest/extract"
)

// needTools skips (or, with BANTIN_TEST_STRICT=1, fails) when tesseract
// with Vietnamese or pdftoppm is missing.
func needTools(t *testing.T) {
	t.Helper()
	e := &Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie", DPI: DefaultDPI}
	if _, err := e.Check(context.Background()); err != nil {
		testenv.Skip(t, "OCR tools missing: %v", err)
	}
}

// corpusPDF returns the path of a PDF in $BANTIN_CORPUS/pdf, skipping (or
// failing when strict) without the corpus.
func corpusPDF(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(testenv.Corpus(t), "pdf", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus file: %v", err)
	}
	return p
}

// scannedDecree is a one-page Prime Minister decision, scanned and signed:
// its text layer holds only the signature stamp.
const scannedDecree = "vi-2239ttg.signed.pdf"

func TestEnginePageReadsScannedDecree(t *testing.T) {
	needTools(t)
	path := corpusPDF(t, scannedDecree)
	e := &Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie", DPI: DefaultDPI, Threads: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pt, err := e.Page(ctx, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := extract.Normalize(strings.Join(pt.Lines, "\n"))
	// Words printed large and clearly on the page, as a reader sees it.
	for _, want := range []string{"THỦ TƯỚNG CHÍNH PHỦ", "Ủy ban nhân dân", "Cần Thơ", "miễn nhiệm", "Phạm Minh Chính"} {
		if !strings.Contains(text, want) {
			t.Errorf("OCR text lacks %q:\n%s", want, text)
		}
	}
	if pt.Words < 150 {
		t.Errorf("recognised %d words; the page has about 300", pt.Words)
	}
	if pt.Confidence < 70 || pt.Confidence > 100 {
		t.Errorf("mean confidence %.1f, want a clean scan's 70–100", pt.Confidence)
	}
	paras := extract.Paragraphs(pt.Lines, 1)
	found := false
	for _, p := range paras {
		if p.Page != 1 {
			t.Errorf("paragraph on page %d, want 1: %q", p.Page, p.Text)
		}
		// Paragraphs rejoins the lines of Điều 1 into one paragraph.
		if strings.HasPrefix(p.Text, "Điều 1.") && strings.Contains(p.Text, "Trần Văn Lâu") {
			found = true
		}
	}
	if !found {
		t.Errorf("no paragraph holds all of Điều 1: %+v", paras)
	}
}

func TestEnginePageCancelKillsTools(t *testing.T) {
	needTools(t)
	path := corpusPDF(t, scannedDecree)
	e := &Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie", DPI: 600}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Page(ctx, path, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Page returned %v after the deadline; the child processes were not killed", took)
	}
}

func TestEngineCheckMissingTools(t *testing.T) {
	// Any program stands in for the tool that is present: Check looks
	// each one up before running tesseract.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		e    Engine
		want string
	}{
		{"no tesseract", Engine{Pdftoppm: sh, Tesseract: "/nonexistent/tesseract", Lang: "vie"}, "tesseract not found"},
		{"no pdftoppm", Engine{Pdftoppm: "/nonexistent/pdftoppm", Tesseract: sh, Lang: "vie"}, "pdftoppm not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.e.Check(context.Background())
			if !errors.Is(err, ErrNotInstalled) {
				t.Fatalf("err = %v, want ErrNotInstalled", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tesseract-ocr tesseract-ocr-vie poppler-utils") {
				t.Errorf("error %q should say %q and name the Debian packages", err, tt.want)
			}
		})
	}
	t.Run("no language data", func(t *testing.T) {
		needTools(t)
		e := Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie+xyz"}
		_, err := e.Check(context.Background())
		if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "tesseract-ocr-xyz") {
			t.Errorf("err = %v, want ErrNotInstalled naming tesseract-ocr-xyz", err)
		}
	})
}

func TestParseTSV(t *testing.T) {
	const head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
	row := func(block, par, line, word, conf, text string) string {
		return "5\t1\t" + block + "\t" + par + "\t" + line + "\t" + word + "\t0\t0\t1\t1\t" + conf + "\t" + text + "\n"
	}
	tests := []struct {
		name      string
		tsv       string
		wantLines []string
		wantWords int
		wantConf  float64
	}{
		{"empty page", head + "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t\n", nil, 0, 0},
		{
			"lines and paragraphs",
			head +
				"2\t1\t1\t0\t0\t0\t0\t0\t9\t9\t-1\t\n" +
				row("1", "1", "1", "1", "90", "QUYẾT") + row("1", "1", "1", "2", "80", "ĐỊNH") +
				row("1", "1", "2", "1", "70", "Điều") + row("1", "1", "2", "2", "60", "1.") +
				row("1", "2", "1", "1", "100", "Nơi") + row("2", "1", "1", "1", "50", "nhận:"),
			[]string{"QUYẾT ĐỊNH", "Điều 1.", "", "Nơi", "", "nhận:"}, 6, 75,
		},
		{
			"blank words and bad confidences are skipped",
			head + row("1", "1", "1", "1", "-1", "") + row("1", "1", "1", "2", "95", " ") + row("1", "1", "1", "3", "x", "a") + row("1", "1", "1", "4", "40", "Tờ"),
			[]string{"Tờ"}, 1, 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt := parseTSV([]byte(tt.tsv))
			if strings.Join(pt.Lines, "|") != strings.Join(tt.wantLines, "|") {
				t.Errorf("lines = %q, want %q", pt.Lines, tt.wantLines)
			}
			if pt.Words != tt.wantWords || pt.Confidence != tt.wantConf {
				t.Errorf("words, confidence = %d, %v; want %d, %v", pt.Words, pt.Confidence, tt.wantWords, tt.wantConf)
			}
		})
	}
}

// BenchmarkPage measures rendering and recognising one scanned page at
// the DPIs worth considering, one tesseract thread each.
func BenchmarkPage(b *testing.B) {
	e := &Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie", Threads: 1}
	if _, err := e.Check(context.Background()); err != nil {
		b.Skipf("OCR tools missing: %v", err)
	}
	dir := os.Getenv("BANTIN_CORPUS")
	if dir == "" {
		b.Skip("BANTIN_CORPUS is not set")
	}
	path := filepath.Join(dir, "pdf", scannedDecree)
	for _, dpi := range []int{200, 300} {
		b.Run(strconv.Itoa(dpi)+"dpi", func(b *testing.B) {
			e.DPI = dpi
			var conf float64
			for b.Loop() {
				pt, err := e.Page(context.Background(), path, 1)
				if err != nil {
					b.Fatal(err)
				}
				conf = pt.Confidence
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/page")
			b.ReportMetric(conf, "conf")
		})
	}
}
