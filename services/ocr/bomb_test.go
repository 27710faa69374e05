package ocr

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
)

// testPage is one page of a PDF built by buildPDF.
type testPage struct {
	width, height int    // MediaBox in points
	content       []byte // the content stream, FlateDecoded in the file
	// image, when set, is a grey image drawn as /Im1 (width × height
	// pixels of imageW × imageH).
	image          []byte
	imageW, imageH int
}

func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// buildPDF writes a PDF of pages, with Helvetica as /F1.
func buildPDF(t testing.TB, pages ...testPage) []byte {
	t.Helper()
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"}
	var kids []string
	for _, p := range pages {
		z := deflate(t, p.content)
		objs = append(objs, fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(z), z))
		contents := len(objs)
		xobj := ""
		if p.image != nil {
			zi := deflate(t, p.image)
			objs = append(objs, fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", p.imageW, p.imageH, len(zi), zi))
			xobj = fmt.Sprintf(" /XObject << /Im1 %d 0 R >>", len(objs))
		}
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >>%s >> /Contents %d 0 R >>", p.width, p.height, xobj, contents))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// textPage is an A4 page (or width × height points) of lines in Helvetica.
func textPage(width, height, size int, lines ...string) testPage {
	var c bytes.Buffer
	fmt.Fprintf(&c, "BT /F1 %d Tf %d TL 60 %d Td\n", size, size*3/2, height-60-size)
	for _, l := range lines {
		fmt.Fprintf(&c, "(%s) Tj T*\n", l)
	}
	c.WriteString("ET\n")
	return testPage{width: width, height: height, content: c.Bytes()}
}

// bombPage is an A4 page whose content stream is size bytes of bare
// operands ("1 1 1 …"): a few kilobytes in the file. The extractor skips
// it (more than 100,000 operands without an operator); poppler reads it
// all, writing a line of stderr per operand beyond its stack of 33.
func bombPage(size int) testPage {
	return testPage{width: 595, height: 842, content: bytes.Repeat([]byte("1 "), size/2)}
}

// scanPage is an A4 page that is only an image of lines of text, as a
// scanner makes: the lines are typeset and rendered by pdftoppm at 150
// dpi, and the grey pixels become the page's image.
func scanPage(t *testing.T, lines ...string) testPage {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "text.pdf")
	if err := os.WriteFile(src, buildPDF(t, textPage(595, 842, 18, lines...)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-r", "150", "-gray", src).Output()
	if err != nil {
		t.Fatalf("rendering the scan: %v", err)
	}
	var magic string
	var w, h, maxv int
	if _, err := fmt.Sscan(string(out[:min(len(out), 64)]), &magic, &w, &h, &maxv); err != nil || magic != "P5" || w*h <= 0 || w*h >= len(out) {
		t.Fatalf("reading pdftoppm's PGM header %q: %v", out[:min(len(out), 20)], err)
	}
	hdr := len(out) - w*h
	return testPage{width: 595, height: 842, content: []byte("q 595 0 0 842 0 0 cm /Im1 Do Q\n"), image: out[hdr:], imageW: w, imageH: h}
}

var scanLines = []string{
	"UY BAN NHAN DAN TINH",
	"BAO CAO",
	"KET QUA THUC HIEN KE HOACH PHAT TRIEN",
	"KINH TE XA HOI NAM 2023",
	"Tong san pham tren dia ban tang 7,5 phan tram.",
}

// TestEngineBoundsHostilePages renders pages that would eat the worker's
// or pdftoppm's memory: a bomb page (had it reached OCR), a poster page
// of 200 × 200 inches, and a page under a memory limit too small for it.
func TestEngineBoundsHostilePages(t *testing.T) {
	needTools(t)
	tests := []struct {
		name   string
		page   testPage
		memory int64
		// allocBound bounds what the call may allocate in this process.
		allocBound uint64
		wantDPI    int
		wantWords  []string
		wantErr    string
	}{
		{
			// 8 MiB of operands make pdftoppm write about 450 MB of
			// "Too many args" to stderr; the worker keeps 64 KiB of it.
			name: "bomb page: the error output is capped", page: bombPage(8 << 20),
			allocBound: 32 << 20, wantDPI: DefaultDPI,
		},
		{
			name: "poster page: rendered at the DPI that fits", page: textPage(14400, 14400, 900, "KINH 2023"),
			allocBound: 96 << 20, wantDPI: MaxRenderSide * 72 / 14400, wantWords: []string{"KINH", "2023"},
		},
		{
			// The 8000 × 8000 bitmap of the poster does not fit in 32 MiB.
			name: "memory limit on pdftoppm", page: textPage(14400, 14400, 900, "KINH 2023"), memory: 32 << 20,
			allocBound: 32 << 20, wantErr: "at most 32 MiB of memory",
		},
		{
			name: "an A4 page under the default limit", page: textPage(595, 842, 24, "KINH TE 2023"),
			allocBound: 32 << 20, wantDPI: DefaultDPI, wantWords: []string{"KINH", "2023"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "page.pdf")
			if err := os.WriteFile(path, buildPDF(t, tt.page), 0o600); err != nil {
				t.Fatal(err)
			}
			e := &Engine{Pdftoppm: "pdftoppm", Tesseract: "tesseract", Lang: "vie", DPI: DefaultDPI, Threads: 1, RenderMemory: tt.memory}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			pt, err := e.Page(ctx, path, 1)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("figures: %s: %v, allocated %.1f MiB in the worker", tt.name, took.Round(time.Millisecond), float64(alloc)/(1<<20))
			if alloc > tt.allocBound {
				t.Errorf("the worker allocated %d MiB; want at most %d MiB", alloc>>20, tt.allocBound>>20)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if len(err.Error()) > 1000 {
					t.Errorf("the error is %d bytes long", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pt.DPI != tt.wantDPI {
				t.Errorf("rendered at %d dpi, want %d", pt.DPI, tt.wantDPI)
			}
			text := strings.Join(pt.Lines, " ")
			for _, w := range tt.wantWords {
				if !strings.Contains(text, w) {
					t.Errorf("OCR text %q lacks %q", text, w)
				}
			}
		})
	}
}

// TestBombPageNotOCRed ingests PDFs with a page the extractor skips as a
// likely PDF bomb and runs the real OCR worker: the bomb page is not put
// on the OCR queue as if it were a scan, the scanned page beside it is
// OCRed, and a file of nothing but a bomb is dead-lettered, not OCRed.
func TestBombPageNotOCRed(t *testing.T) {
	needTools(t)
	tests := []struct {
		name        string
		pages       func(t *testing.T) []testPage
		wantOutcome string
		wantPending []int
	}{
		{name: "a scanned page and a bomb page", pages: func(t *testing.T) []testPage {
			return []testPage{scanPage(t, scanLines...), bombPage(8 << 20)}
		}, wantOutcome: ingest.OutcomeOCR, wantPending: []int{1}},
		{name: "only a bomb page", pages: func(t *testing.T) []testPage {
			return []testPage{bombPage(8 << 20)}
		}, wantOutcome: ingest.OutcomeDead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBus(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ing, err := ingest.New(ingest.Config{}, ingest.Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			raw := buildPDF(t, tt.pages(t)...)
			const site = "bomb.example.vn"
			res := ing.IngestBytes(ctx, raw, model.Source{AttachmentName: "bao-cao.pdf", Site: site})
			if res.Outcome != tt.wantOutcome {
				t.Fatalf("ingest outcome = %q (%s: %s), want %q", res.Outcome, res.Reason, res.Error, tt.wantOutcome)
			}
			if tt.wantOutcome != ingest.OutcomeOCR {
				if !strings.Contains(res.Error, "PDF bomb") {
					t.Errorf("dead letter error %q does not say the page is a likely PDF bomb", res.Error)
				}
				st, err := b.JS.Stream(ctx, model.StreamOCR)
				if err != nil {
					t.Fatal(err)
				}
				info, err := st.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if info.State.Msgs != 0 {
					t.Errorf("%d OCR jobs queued for a file of nothing but a bomb", info.State.Msgs)
				}
				return
			}
			var job model.Report
			waitFor(t, b, model.StreamOCR, model.OCRSubject(site), &job, 5*time.Second)
			if !slices.Equal(job.OCRPending, tt.wantPending) {
				t.Errorf("OCR job pages = %v, want %v (the bomb page is not a scan)", job.OCRPending, tt.wantPending)
			}

			runWorker(t, b, Config{PageTimeout: time.Minute})
			var r model.Report
			waitFor(t, b, model.StreamReports, model.ReportSubject(site), &r, 90*time.Second)
			if r.OCR == nil || !slices.Equal(r.OCR.Pages, tt.wantPending) {
				t.Fatalf("report OCR info = %+v, want pages %v", r.OCR, tt.wantPending)
			}
			if !slices.Contains(r.FailedPages, 2) {
				t.Errorf("failed pages = %v, want the bomb page 2 among them", r.FailedPages)
			}
			bombWarned := false
			for _, w := range r.Warnings {
				bombWarned = bombWarned || strings.HasPrefix(w, "page 2: ") && strings.Contains(w, "PDF bomb")
			}
			if !bombWarned {
				t.Errorf("no warning says page 2 was skipped as a PDF bomb: %q", r.Warnings)
			}
			var text strings.Builder
			for _, p := range r.Paragraphs {
				if p.Page != 1 {
					t.Errorf("paragraph on page %d, want 1: %q", p.Page, p.Text)
				}
				text.WriteString(p.Text + " ")
			}
			for _, w := range []string{"KINH", "2023"} {
				if !strings.Contains(text.String(), w) {
					t.Errorf("OCR text of the scanned page lacks %q: %q", w, text.String())
				}
			}
			consumerSettled(t, b)
		})
	}
}
