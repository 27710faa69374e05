package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
)

// toUnicodeCMap maps a–z and space to themselves and "A" to aDot.
func toUnicodeCMap(aDot rune) string {
	return "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"1 begincodespacerange <00> <FF> endcodespacerange\n" +
		fmt.Sprintf("1 beginbfchar <41> <%04X> endbfchar\n", aDot) +
		"2 beginbfrange <20> <20> <0020> <61> <7A> <0061> endbfrange\n" +
		"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
}

// fontPages says how the fonts of a generated document are laid out.
type fontPages struct {
	pages int
	// copies: every page has its own font, ToUnicode and font file
	// objects (as pdfunite writes them); else all share one font object.
	copies bool
	// aDot is the text of code "A" on page i (0-based).
	aDot func(i int) rune
}

// fontsPDF writes a PDF of f.pages pages, each showing two lines in a
// TrueType font whose ToUnicode CMap decides what "A" reads as. Each copy
// of the font file holds different bytes, as if subset per page.
func fontsPDF(f fontPages) []byte {
	var objs []string
	add := func(s string) int {
		objs = append(objs, s)
		return len(objs)
	}
	add("<< /Type /Catalog /Pages 2 0 R >>")
	add("") // pages, below
	font := func(i int) int {
		cm := toUnicodeCMap(f.aDot(i))
		tu := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(cm)+1, cm))
		prog := fmt.Sprintf("glyph program of copy %d", i)
		ff := add(fmt.Sprintf("<< /Length %d /Length1 %d >>\nstream\n%s\nendstream", len(prog)+1, len(prog), prog))
		fd := add(fmt.Sprintf("<< /Type /FontDescriptor /FontName /ABCDEF+Arial /Flags 32 /MissingWidth 500 /FontFile2 %d 0 R >>", ff))
		return add(fmt.Sprintf("<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Arial /ToUnicode %d 0 R /FontDescriptor %d 0 R >>", tu, fd))
	}
	shared := 0
	if !f.copies {
		shared = font(0)
	}
	var kids []string
	for i := 0; i < f.pages; i++ {
		fo := shared
		if f.copies {
			fo = font(i)
		}
		content := fmt.Sprintf("BT /F1 12 Tf 72 700 Td (page %s bAo cAo tinh hinh) Tj 0 -14 Td (thAng nAm muoi) Tj ET", pageWord(i))
		c := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content))
		p := add(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>", c, fo))
		kids = append(kids, fmt.Sprintf("%d 0 R", p))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), f.pages)
	return writePDF(objs, true, "")
}

// pageWord spells i in lower-case letters, which the CMaps map to themselves.
func pageWord(i int) string {
	s := ""
	for {
		s = string(rune('a'+i%26)) + s
		i /= 26
		if i == 0 {
			return s
		}
	}
}

func TestFontCacheByContent(t *testing.T) {
	const n = 12
	same := func(int) rune { return 'ạ' }
	alternate := func(i int) rune {
		if i%2 == 0 {
			return 'ạ'
		}
		return 'ố'
	}
	tests := []struct {
		name       string
		fonts      fontPages
		noContent  bool  // cache without content keys (as for encrypted files)
		maxBytes   int64 // 0: the default bound
		wantParsed int   // -1: more than 1 and at most n
	}{
		{name: "one font object shared by all pages", fonts: fontPages{pages: n, aDot: same}, wantParsed: 1},
		{name: "a copy per page, font files differ", fonts: fontPages{pages: n, copies: true, aDot: same}, wantParsed: 1},
		{name: "a copy per page, two ToUnicode maps", fonts: fontPages{pages: n, copies: true, aDot: alternate}, wantParsed: 2},
		{name: "a copy per page, content keys off", fonts: fontPages{pages: n, copies: true, aDot: same}, noContent: true, wantParsed: n},
		{name: "a copy per page, cache bound smaller than two fonts", fonts: fontPages{pages: n, copies: true, aDot: alternate}, maxBytes: 1, wantParsed: n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, src, pages, _, err := openPDF(fontsPDF(tt.fonts))
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != n {
				t.Fatalf("%d pages, want %d", len(pages), n)
			}
			if tt.noContent {
				src = nil
			}
			c := newFontCache(src)
			if tt.maxBytes > 0 {
				c.maxBytes = tt.maxBytes
			}
			for i, p := range pages {
				lines, _, err, _ := pageLines(context.Background(), p, c, nil, false)
				if err != nil {
					t.Fatalf("page %d: %v", i+1, err)
				}
				want := fmt.Sprintf("page %s b%[2]co c%[2]co tinh hinh", pageWord(i), tt.fonts.aDot(i))
				if len(lines) == 0 || lines[0] != want {
					t.Errorf("page %d: lines %q, want first %q", i+1, lines, want)
				}
			}
			if c.parsed != tt.wantParsed {
				t.Errorf("parsed %d fonts for %d pages, want %d", c.parsed, n, tt.wantParsed)
			}
		})
	}
}

// docJSON is everything a Document and its error say, for comparison.
func docJSON(t *testing.T, doc *Document, err error) string {
	t.Helper()
	b, jerr := json.Marshal(doc)
	if jerr != nil {
		t.Fatal(jerr)
	}
	s := string(b)
	if doc != nil {
		s += "\ntext:" + doc.Text()
	}
	if err != nil {
		s += "\nerror:" + err.Error()
	}
	return s
}

// checkParallelMatches extracts data with every page concurrency and fails
// unless each result equals the sequential one, byte for byte.
func checkParallelMatches(t *testing.T, data []byte, concurrencies ...int) {
	t.Helper()
	ctx := context.Background()
	seqDoc, seqErr := PDFWith(ctx, data, Options{PageConcurrency: 1})
	want := docJSON(t, seqDoc, seqErr)
	for _, c := range concurrencies {
		doc, err := PDFWith(ctx, data, Options{PageConcurrency: c})
		if got := docJSON(t, doc, err); got != want {
			t.Errorf("page concurrency %d: result differs from the sequential one\n got: %.600s\nwant: %.600s", c, got, want)
		}
	}
}

func TestParallelPagesMatchSequential(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "40 pages, one font", data: fontsPDF(fontPages{pages: 40, aDot: func(int) rune { return 'ạ' }})},
		{name: "40 pages, a font copy per page, three maps", data: fontsPDF(fontPages{pages: 40, copies: true, aDot: func(i int) rune { return []rune("ạốữ")[i%3] }})},
		{name: "3 pages (read on one goroutine)", data: fontsPDF(fontPages{pages: 3, copies: true, aDot: func(int) rune { return 'ạ' }})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParallelMatches(t, tt.data, 2, 3, 16)
		})
	}
}

// TestParallelPagesMatchSequentialCorpus extracts every corpus PDF with
// pages read in parallel and one after the other: the results must be
// byte-identical. Run it with -race to check the shared reader and font
// cache.
func TestParallelPagesMatchSequentialCorpus(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testenv.Corpus(t), "pdf", "*.pdf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no PDFs in the corpus (%v)", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			checkParallelMatches(t, data, 4)
		})
	}
}

func TestForPages(t *testing.T) {
	t.Run("every page once", func(t *testing.T) {
		for _, workers := range []int{1, 2, 7} {
			seen := make([]int, 50)
			stop, err := forPages(context.Background(), len(seen), workers, func(i int) { seen[i]++ })
			if err != nil || stop != len(seen) {
				t.Fatalf("workers %d: stop %d, err %v", workers, stop, err)
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("workers %d: page %d read %d times", workers, i, n)
				}
			}
		}
	})
	t.Run("the lowest page's panic comes out", func(t *testing.T) {
		for _, workers := range []int{1, 3} {
			func() {
				defer func() {
					if r := recover(); r != "page 5" {
						t.Errorf("workers %d: recovered %v, want page 5", workers, r)
					}
				}()
				_, _ = forPages(context.Background(), 20, workers, func(i int) {
					if i == 5 || i == 11 {
						panic(fmt.Sprintf("page %d", i))
					}
				})
			}()
		}
	})
	t.Run("a done context stops it", func(t *testing.T) {
		for _, workers := range []int{1, 3} {
			ctx, cancel := context.WithCancel(context.Background())
			stop, err := forPages(ctx, 100, workers, func(i int) {
				if i == 10 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) || stop > 10+workers || stop < 11 {
				t.Errorf("workers %d: stop %d, err %v; want canceled, stopped after page 10", workers, stop, err)
			}
		}
	})
}

func TestPageWorkers(t *testing.T) {
	tests := []struct {
		name               string
		concurrency, pages int
		want               int
	}{
		{name: "short document", concurrency: 8, pages: 3, want: 1},
		{name: "bounded by concurrency", concurrency: 2, pages: 300, want: 2},
		{name: "bounded by pages", concurrency: 16, pages: 5, want: 5},
		{name: "sequential asked for", concurrency: 1, pages: 300, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pageWorkers(tt.concurrency, tt.pages); got != tt.want {
				t.Errorf("pageWorkers(%d, %d) = %d, want %d", tt.concurrency, tt.pages, got, tt.want)
			}
		})
	}
	if got := pageWorkers(0, 1000); got < 1 {
		t.Errorf("pageWorkers(0, 1000) = %d, want GOMAXPROCS", got)
	}
}

func TestTrailerSizeTooSmall(t *testing.T) {
	data := fontsPDF(fontPages{pages: 6, copies: true, aDot: func(int) rune { return 'ạ' }})
	// pdfunite writes the number of objects as /Size, not the highest
	// object number plus one: here the table has 39 entries.
	bad := bytes.Replace(data, []byte("/Size 39 "), []byte("/Size 9 "), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("fixture: /Size 39 not found")
	}
	doc, err := PDF(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages != 6 || !strings.Contains(doc.Text(), "page f bạo cạo") {
		t.Errorf("Pages = %d, text %q", doc.Pages, doc.Text())
	}
	if w := strings.Join(doc.Warnings, "\n"); !strings.Contains(w, "/Size 9 is smaller than the cross-reference table (39 entries)") {
		t.Errorf("warnings %q, want the /Size note", w)
	}
	if _, _, _, ok := fixTrailerSize(data); ok {
		t.Error("fixTrailerSize changed a sound file")
	}
}

func TestSplicedReader(t *testing.T) {
	parts := [][]byte{[]byte("hello, "), nil, []byte("wide"), []byte(" world")}
	whole := bytes.Join(parts, nil)
	r := splicedReader{parts: parts}
	for off := 0; off <= len(whole); off++ {
		for n := 0; n <= len(whole)-off+2; n++ {
			buf := make([]byte, n)
			got, err := r.ReadAt(buf, int64(off))
			want := min(n, len(whole)-off)
			if got != want || !bytes.Equal(buf[:got], whole[off:off+want]) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d %q, want %q", n, off, got, buf[:got], whole[off:off+want])
			}
			if (want < n) != (err == io.EOF) {
				t.Fatalf("ReadAt(%d bytes, %d): err %v", n, off, err)
			}
		}
	}
}
