package extract

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/internal/testenv"
)

// corpusDir returns the shared test corpus root named by BANTIN_CORPUS. It
// skips the test when the variable is unset, or fails it when
// BANTIN_TEST_STRICT=1 says every test must run.
func corpusDir(t *testing.T) string {
	t.Helper()
	return testenv.Corpus(t)
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// perFileTimeout bounds each corpus file. The slowest, the 256-page
// proceedings, takes about a second on one core.
const perFileTimeout = 20 * time.Second

// corpusCase is what a corpus file must give. Zero fields are not checked.
type corpusCase struct {
	pages    int
	err      error    // the sentinel the error must wrap; nil: success
	contains []string // substrings of the whole text (NFC)
	onPage   map[int]string
	warning  string // a substring of one of the warnings
	needsOCR []int  // pages whose PageInfo must say NeedsOCR
}

// corpusCases covers the files whose outcome says something; every other
// file in corpus/pdf must still extract or fail cleanly.
var corpusCases = map[string]corpusCase{
	"vi-30fb2cd2-duthao-luat-thanh-tra.pdf": {
		pages:    37,
		contains: []string{"QUỐC HỘI", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "LUẬT THANH TRA", "Điều 1. Phạm vi điều chỉnh"},
		onPage: map[int]string{
			1:  "Luật này quy định về tổ chức và hoạt động thanh tra.",
			2:  "Thời kỳ thanh tra là khoảng thời gian thực hiện chính sách, pháp luật, nhiệm vụ, quyền hạn của đối tượng thanh tra",
			20: "Bao che cho người có hành vi tham nhũng, lãng phí, tiêu cực.",
			// Runs from page 36 over the break into page 37, where pdftotext
			// shows "…tiếp tục thực hiện nhiệm / vụ, xây dựng dự thảo…".
			37: "thì Đoàn thanh tra tiếp tục thực hiện nhiệm vụ, xây dựng dự thảo kết luận thanh tra",
		},
	},
	"vi-8-tailieu-luat-nha-giao-256p.pdf": {
		pages:  256,
		onPage: map[int]string{200: "Hoàn thiện chính sách và đổi mới thu hút tuyển dụng đội ngũ nhà giáo"},
	},
	// Spaces are not glyphs here; they come from the gaps between glyphs.
	"vi-14-hoi-thao-tcqckt-vinacert.pdf": {
		pages:    6,
		contains: []string{"Một số ý kiến", "Quản lý tiêu chuẩn của", "Tốt nghiệp ĐHBK HN 1989; Tổng hợp Luật 1997;"},
	},
	// Simple fonts with both /Encoding and /ToUnicode: the library alone
	// gives "Hp tác quc t".
	"vi-1258-1-2456-1-10-20160606.pdf": {
		pages:    7,
		contains: []string{"Hợp tác quốc tế trong đấu tranh phòng, chống mua bán người", "Tạp chí Khoa học ĐHQGHN, Luật học, Tập 29, Số 1 (2013)"},
	},
	"vi-7450de0a-totrinh-luat-pha-san.pdf": {
		pages:    12,
		contains: []string{"TÒA ÁN NHÂN DÂN TỐI CAO", "Luật Phá sản"},
	},
	// Page 1's ABBYY text layer is garbage; the other pages are readable.
	"vi-5a4e7fb8-duthao-blhs-abbyy-ocr.pdf": {
		pages:    47,
		warning:  "poor OCR on page 1",
		needsOCR: []int{1},
	},
	// Scans: no text layer, or only the signature stamp in a widget.
	"vi-259nd.signed.pdf":                         {pages: 26, err: ErrNoText, needsOCR: []int{1, 13, 26}},
	"vi-2239ttg.signed.pdf":                       {pages: 1, err: ErrNoText},
	"vi-9533-cn.signed.pdf":                       {pages: 4, err: ErrNoText},
	"vi-b7516be2-duthao-luat-tctd-camscanner.pdf": {pages: 5, err: ErrNoText},
	"pdfminer-issue-625-identity-cmap.pdf":        {err: ErrNoText},
	// Not a PDF at all, or password-protected.
	"qpdf-bad1.pdf":           {err: ErrCorrupt},
	"qpdf-issue-147.pdf":      {err: ErrCorrupt},
	"pdfminer-rc4-40.pdf":     {err: ErrUnsupported},
	"pdfminer-aes-256-r6.pdf": {err: ErrUnsupported},
	// Repairs: a looping xref chain (the library alone never returns), a
	// broken xref table, a missing startxref, a header with a trailing
	// space, a corrupt Flate stream after the text.
	"qpdf-append-xref-loop.pdf": {
		pages:    30,
		onPage:   map[int]string{1: "Potato 0", 30: "Potato 29"},
		warning:  "loops",
		contains: []string{"Potato 15"},
	},
	"qpdf-bad-xref.pdf":                     {err: ErrNoText, contains: []string{"Potato"}, warning: "rebuilt"},
	"pdfminer-issue-1113-evil-xobjects.pdf": {contains: []string{"Hello world"}, warning: "rebuilt"},
	"pypdf-imagemagick-CCITTFaxDecode.pdf":  {err: ErrNoText, warning: "read as %PDF-1.7"},
	"pdfminer-zen_of_python_corrupted.pdf": {
		contains: []string{"Beautiful is better than ugly.", "Namespaces are one honking great idea"},
		warning:  "incomplete",
	},
	"qpdf-damaged-stream.pdf": {err: ErrNoText, contains: []string{"Potato"}},
	"qpdf-issue-202.pdf":      {pages: 10, contains: []string{"Sample PDF Document"}},
	"ledongthuc-pdf_test.pdf": {pages: 1, contains: []string{"This is a heading", "This is content"}},
}

// TestPDFCorpus runs every file of corpus/pdf through PDF: each must
// extract text or fail with one of the sentinel errors and a message,
// without a panic and within perFileTimeout.
func TestPDFCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "pdf")
	files, err := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PDFs in %s: %v", dir, err)
	}
	for name := range corpusCases {
		if !slices.Contains(files, filepath.Join(dir, name)) {
			t.Errorf("expected corpus file %s is missing", name)
		}
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), perFileTimeout)
			defer cancel()
			start := time.Now()
			doc, err := PDF(ctx, data)
			elapsed := time.Since(start)
			if elapsed > perFileTimeout {
				t.Errorf("took %v", elapsed)
			}
			chars := 0
			if doc != nil {
				chars = len([]rune(strings.Join(strings.Fields(doc.Text()), "")))
			}
			t.Logf("pages=%d chars=%d warnings=%d %v err=%v", pagesOf(doc), chars, warningsOf(doc), elapsed.Round(time.Millisecond), err)

			switch {
			case err == nil:
				if letters(doc.Text()) < minLetters {
					t.Errorf("no error, but only %d letters", letters(doc.Text()))
				}
			case errors.Is(err, ErrNoText), errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnsupported):
				if len(err.Error()) < 30 {
					t.Errorf("error message too short to act on: %q", err)
				}
			default:
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if doc != nil {
				checkDocument(t, doc)
			}

			want, ok := corpusCases[name]
			if !ok {
				return
			}
			if want.err == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if want.err != nil && !errors.Is(err, want.err) {
				t.Fatalf("error = %v, want %v", err, want.err)
			}
			if want.pages != 0 && pagesOf(doc) != want.pages {
				t.Errorf("Pages = %d, want %d", pagesOf(doc), want.pages)
			}
			if (len(want.contains) > 0 || len(want.onPage) > 0 || want.warning != "") && doc == nil {
				t.Fatal("no Document returned")
			}
			text := ""
			if doc != nil {
				text = doc.Text()
			}
			for _, s := range want.contains {
				if !strings.Contains(text, s) {
					t.Errorf("text does not contain %q", s)
				}
			}
			for page, phrase := range want.onPage {
				found := -1
				for _, p := range doc.Paragraphs {
					if strings.Contains(p.Text, phrase) {
						found = p.Page
						break
					}
				}
				// A paragraph carries the page it starts on: a phrase that
				// runs over a page break may be on the page before.
				if found != page && found != page-1 {
					t.Errorf("%q found on page %d, want page %d", phrase, found, page)
				}
			}
			if len(want.needsOCR) > 0 && doc == nil {
				t.Fatal("no Document returned")
			}
			for _, n := range want.needsOCR {
				if n > len(doc.PageInfo) || !doc.PageInfo[n-1].NeedsOCR {
					t.Errorf("page %d not flagged NeedsOCR", n)
				}
			}
			for i, pi := range pageInfoOf(doc) {
				if pi.NeedsOCR && !slices.Contains(want.needsOCR, pi.Page) && name == "vi-5a4e7fb8-duthao-blhs-abbyy-ocr.pdf" {
					t.Errorf("readable page %d flagged NeedsOCR (%s, quality %.2f)", i+1, pi.Why, pi.Quality)
				}
			}
			if want.warning != "" && !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, want.warning) }) {
				t.Errorf("no warning containing %q in %q", want.warning, doc.Warnings)
			}
		})
	}
}

// checkDocument checks the invariants of every Document.
func checkDocument(t *testing.T, doc *Document) {
	t.Helper()
	if doc.Format != FormatPDF || doc.Extractor != pdfExtractor {
		t.Errorf("Format, Extractor = %q, %q", doc.Format, doc.Extractor)
	}
	prev := 0
	for i, p := range doc.Paragraphs {
		if p.Page < 1 || p.Page > doc.Pages || p.Page < prev {
			t.Fatalf("paragraph %d has page %d (pages %d, previous %d)", i, p.Page, doc.Pages, prev)
		}
		prev = p.Page
		if p.Text == "" || p.Text != strings.TrimSpace(p.Text) || strings.Contains(p.Text, "  ") {
			t.Fatalf("paragraph %d is not trimmed and collapsed: %q", i, p.Text)
		}
		if !norm.NFC.IsNormalString(p.Text) {
			t.Fatalf("paragraph %d is not NFC: %q", i, p.Text)
		}
	}
	if len(doc.PageInfo) != doc.Pages {
		t.Errorf("%d PageInfo for %d pages", len(doc.PageInfo), doc.Pages)
	}
	for i, pi := range doc.PageInfo {
		if pi.Page != i+1 || pi.Quality < 0 || pi.Quality > 1 || pi.Extractor == "" {
			t.Errorf("PageInfo[%d] = %+v", i, pi)
		}
	}
	if len(doc.FailedPages) > doc.Pages {
		t.Errorf("FailedPages %v for %d pages", doc.FailedPages, doc.Pages)
	}
}

func pageInfoOf(doc *Document) []PageInfo {
	if doc == nil {
		return nil
	}
	return doc.PageInfo
}

func pagesOf(doc *Document) int {
	if doc == nil {
		return 0
	}
	return doc.Pages
}

func warningsOf(doc *Document) int {
	if doc == nil {
		return 0
	}
	return len(doc.Warnings)
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func TestPDFDeadline(t *testing.T) {
	data := readCorpus(t, "vi-8-tailieu-luat-nha-giao-256p.pdf")

	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := PDF(ctx, data); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("expires during the parse", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := PDF(ctx, data)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after the start, long after the deadline", d)
		}
	})
}

// TestXrefLoopIsCut checks the repair that keeps ledongthuc/pdf from
// reading qpdf-append-xref-loop.pdf forever: the /Prev that closes the loop
// is renamed in place.
func TestXrefLoopIsCut(t *testing.T) {
	data := readCorpus(t, "qpdf-append-xref-loop.pdf")
	fixed, note := breakXrefLoop(data)
	if note == "" || len(fixed) != len(data) {
		t.Fatalf("loop not cut: note %q, %d → %d bytes", note, len(data), len(fixed))
	}
	if again, note := breakXrefLoop(fixed); note != "" || len(again) != len(fixed) {
		t.Errorf("cut file still loops: %q", note)
	}
	other := readCorpus(t, "vi-30fb2cd2-duthao-luat-thanh-tra.pdf")
	if _, note := breakXrefLoop(other); note != "" {
		t.Errorf("a sound file was changed: %q", note)
	}
}

// TestCorpusAgainstPdftotext compares the words of the Vietnamese PDFs with
// what poppler's pdftotext prints, when it is installed: the layout
// constants in layout.go were tuned on this comparison and must not drift.
func TestCorpusAgainstPdftotext(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "pdf")
	if testing.Short() {
		t.Skip("runs pdftotext on the corpus")
	}
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	files, _ := filepath.Glob(filepath.Join(dir, "vi-*.pdf"))
	words := regexp.MustCompile(`[\p{L}\p{N}]+`)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := PDF(context.Background(), data)
			if err != nil {
				t.Skipf("no text: %v", err)
			}
			ref, err := exec.Command(pdftotext, "-enc", "UTF-8", path, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			got := words.FindAllString(doc.Text(), -1)
			want := words.FindAllString(norm.NFC.String(string(ref)), -1)
			f1 := bagF1(got, want)
			t.Logf("%d words, pdftotext %d, F1 %.3f", len(got), len(want), f1)
			if f1 < 0.97 {
				t.Errorf("word F1 against pdftotext = %.3f, want ≥ 0.97", f1)
			}
		})
	}
}

// bagF1 is the F1 score of two multisets of words.
func bagF1(got, want []string) float64 {
	if len(got) == 0 || len(want) == 0 {
		return 0
	}
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	common := 0
	for _, w := range got {
		if count[w] > 0 {
			count[w]--
			common++
		}
	}
	p, r := float64(common)/float64(len(got)), float64(common)/float64(len(want))
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// BenchmarkPDF measures a typical 37-page draft law and the 256-page
// proceedings.
func BenchmarkPDF(b *testing.B) {
	dir := os.Getenv("BANTIN_CORPUS")
	if dir == "" {
		b.Skip("BANTIN_CORPUS not set; point it at shared/corpus")
	}
	for _, name := range []string{"vi-30fb2cd2-duthao-luat-thanh-tra.pdf", "vi-8-tailieu-luat-nha-giao-256p.pdf"} {
		data, err := os.ReadFile(filepath.Join(dir, "pdf", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := PDF(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
