package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/bantin/bantin/internal/testenv"
)

// fastAndLegacy extracts data on the fast content path and on the legacy
// one (pdf.Interpret) and returns both results as docJSON, with the number
// of pages the fast path gave back.
func fastAndLegacy(t *testing.T, data []byte) (fast, legacy string, slow int) {
	t.Helper()
	return fastAndLegacyCtx(t, context.Background(), data)
}

func fastAndLegacyCtx(t *testing.T, ctx context.Context, data []byte) (fast, legacy string, slow int) {
	t.Helper()
	doc, err := PDFWith(ctx, data, Options{PageConcurrency: 1})
	if doc != nil {
		slow = doc.slowPages
	}
	fast = docJSON(t, doc, err)
	doc, err = PDFWith(ctx, data, Options{PageConcurrency: 1, legacyContent: true})
	legacy = docJSON(t, doc, err)
	return fast, legacy, slow
}

// TestFastContentMatchesLegacyCorpus extracts every corpus PDF with the
// fast content path and with pdf.Interpret: the results (text, pages,
// warnings, page info, errors) must be byte-identical, and the fast path
// must read the pages of every text PDF itself.
func TestFastContentMatchesLegacyCorpus(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testenv.Corpus(t), "pdf", "*.pdf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no PDFs in the corpus (%v)", err)
	}
	totalSlow, totalPages := 0, 0
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fast, legacy, slow := fastAndLegacy(t, data)
			if fast != legacy {
				t.Errorf("fast content path differs from pdf.Interpret\n fast: %.800s\nlegacy: %.800s", fast, legacy)
			}
			doc, _ := PDF(context.Background(), data)
			if doc != nil {
				totalPages += doc.Pages
			}
			totalSlow += slow
			if slow > 0 {
				t.Logf("%d page(s) read by pdf.Interpret", slow)
				if strings.HasPrefix(filepath.Base(p), "vi-") {
					t.Errorf("%d page(s) of a Vietnamese text PDF left the fast path", slow)
				}
			}
		})
	}
	t.Logf("%d of %d pages read by pdf.Interpret after the fast path gave up", totalSlow, totalPages)
	if totalPages > 0 && totalSlow*20 > totalPages {
		t.Errorf("%d of %d pages left the fast path (more than 5%%)", totalSlow, totalPages)
	}
}

// contentPDF writes a one-page PDF with Helvetica as /F1, the page's
// content given as one stream or several (an array), optionally
// compressed, and a Form XObject /X1 with content form.
func contentPDF(form string, compress bool, contents ...string) []byte {
	stream := func(s string) string {
		if !compress {
			return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
		}
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", b.Len(), b.String())
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"", // the page
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Matrix [1 0 0 1 0 -100] " + stream(form)[2:],
	}
	var refs []string
	for _, c := range contents {
		refs = append(refs, fmt.Sprintf("%d 0 R", len(objs)+1))
		objs = append(objs, stream(c))
	}
	cref := refs[0]
	if len(refs) > 1 {
		cref = "[" + strings.Join(refs, " ") + "]"
	}
	objs[2] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents " + cref +
		" /Resources << /Font << /F1 4 0 R >> /XObject << /X1 5 0 R >> >> >>"
	return writePDF(objs, true, "")
}

// TestContentLexerMatchesInterpret runs content streams with the corners
// of the library's syntax through both paths: the results must be
// byte-identical, and the fast path must read the page itself (slow
// false) or give it back to pdf.Interpret (slow true) as the case says.
func TestContentLexerMatchesInterpret(t *testing.T) {
	const line = "BT /F1 12 Tf 72 700 Td (Bao cao tinh hinh kinh te xa hoi thang sau) Tj ET\n"
	const form = "BT /F1 10 Tf 72 400 Td (Noi dung trong bieu mau) Tj ET"
	tests := []struct {
		name     string
		contents []string
		form     string
		slow     bool
	}{
		{name: "plain", contents: []string{line}},
		{name: "TJ with kerning, T*, ' and \"", contents: []string{"BT /F1 12 Tf 14 TL 72 700 Td [(Tong)-250(san)-250.5(pham)] TJ T* (dong hai) Tj (dong ba) ' 2 1 (dong bon) \" ET"}},
		{name: "escapes and octal", contents: []string{"BT /F1 12 Tf 72 700 Td (a\\(b\\)c\\\\d\\n\\r\\t\\b\\f\\101\\1010\\7x\\\ny (nested (parens)) z) Tj ET"}},
		{name: "line continuation CR LF", contents: []string{"BT /F1 12 Tf 72 700 Td (Bao \\\r\ncao \\\rtinh) Tj ET"}},
		{name: "hex strings", contents: []string{"BT /F1 12 Tf 72 700 Td <42 61 6f 20 43 41 4F> Tj <4 2 6 1 > Tj <> Tj ET"}},
		{name: "names with #", contents: []string{"BT /F#31 12 Tf 72 700 Td (ten co dau thang) Tj /A#20B /C#2fD pop2 ET"}},
		{name: "numbers", contents: []string{"BT /F1 +12 Tf 72. 700.0 Td -.5 Tc +.5 Tw 100 Tz (so thu nhat) Tj -0 0.0 Td 1e5 (so hai) Tj ET"}},
		{name: "comments", contents: []string{"% a comment\nBT /F1 12 Tf %inline\r72 700 Td (khong % phai) Tj ET %end"}},
		{name: "operands out of place", contents: []string{"BT ] >> null true false /F1 12 Tf { 72 } 700 Td 1 2 3 Td (mot) Tj ET"}},
		{name: "inline dict and nested arrays", contents: []string{"BT /F1 12 Tf 72 700 Td << /A [1 [2 3] << /B (x) >>] /C 5 /D <4142> >> (sau tu dien) Tj [(a) [(b)] 5 /N true null] TJ ET"}},
		{name: "unterminated string at the end", contents: []string{line + "BT /F1 12 Tf 72 600 Td (chua dong"}},
		{name: "unterminated array at the end", contents: []string{line + "[(a) (b)"}},
		{name: "unterminated dict at the end", contents: []string{line + "<< /A 1 /B"}},
		{name: "operator at the very end", contents: []string{"BT /F1 12 Tf 72 700 Td (cuoi cung) Tj"}},
		{name: "escape at the very end", contents: []string{"BT /F1 12 Tf 72 700 Td (a\\"}},
		{name: "octal at the very end", contents: []string{"BT /F1 12 Tf 72 700 Td (a\\10"}},
		{name: "stream array splits a token", contents: []string{"BT /F1 12 Tf 72 700 Td (Bao cao) T", "j 0 -14 Td (tiep theo) Tj E", "T"}},
		{name: "stream array, empty stream", contents: []string{line, "", "BT /F1 12 Tf 72 500 Td (trang sau) Tj ET"}},
		{name: "form drawn twice", contents: []string{line + "q 1 0 0 1 0 -50 cm /X1 Do Q /X1 Do"}, form: form},
		{name: "form with a lexer error", contents: []string{line + "/X1 Do"}, form: "BT /F1 10 Tf 72 400 Td (a) Tj ) ET", slow: true},
		{name: "unexpected )", contents: []string{line + ") (sau loi) Tj"}, slow: true},
		{name: "unexpected > ", contents: []string{line + "> (sau loi) Tj"}, slow: true},
		{name: "bad escape", contents: []string{line + "(a\\q) Tj"}, slow: true},
		{name: "octal over 255", contents: []string{line + "(a\\777) Tj"}, slow: true},
		{name: "odd hex string", contents: []string{line + "<414> Tj"}, slow: true},
		{name: "bad name", contents: []string{line + "/A#G1 Tf"}, slow: true},
		{name: "integer overflow", contents: []string{line + "99999999999999999999 Tc"}, slow: true},
		{name: "lone dot", contents: []string{line + ". Tc"}, slow: true},
		{name: "keyword in an array", contents: []string{line + "[(a) Tj] TJ BT /F1 12 Tf 72 600 Td (sau) Tj ET"}, slow: true},
		{name: "dict key not a name", contents: []string{line + "<< 1 2 >> BT /F1 12 Tf 72 600 Td (sau) Tj ET"}, slow: true},
		{name: "dict value >>, then a string key", contents: []string{line + "<< /C >> /D >> (x) Tj"}, slow: true},
		{name: "PostScript dict operators", contents: []string{line + "1 dict begin /x 1 def end"}, slow: true},
		{name: "pop", contents: []string{"BT /F1 12 Tf 72 700 Td (a) (b) pop Tj ET"}, slow: true},
	}
	for _, tt := range tests {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/compressed=%v", tt.name, compress), func(t *testing.T) {
				f := tt.form
				if f == "" {
					f = form
				}
				fast, legacy, slow := fastAndLegacy(t, contentPDF(f, compress, tt.contents...))
				if fast != legacy {
					t.Errorf("fast content path differs from pdf.Interpret\n  fast: %s\nlegacy: %s", fast, legacy)
				}
				if got := slow > 0; got != tt.slow {
					t.Errorf("page read by pdf.Interpret: %v, want %v", got, tt.slow)
				}
			})
		}
	}
}

// TestFastContentKeepsTheCaps checks that the fast path refuses a page over
// the content caps with the same result as checkContent, a form drawn
// many times counting each time against the page's budget.
func TestFastContentKeepsTheCaps(t *testing.T) {
	big := strings.Repeat("0 0 m ", maxOperands/2) // 200 KB of operators: no operand run
	many := strings.Repeat("1 ", maxOperands+10) + "Tc"
	var draws strings.Builder
	for range maxPageContent/(len(big)+1) + 2 {
		draws.WriteString("/X1 Do ")
	}
	tests := []struct {
		name     string
		form     string
		contents []string
		refused  bool
	}{
		{name: "operand run", form: "", contents: []string{"BT /F1 12 Tf 72 700 Td (truoc) Tj ET " + many}, refused: true},
		{name: "form over the budget when drawn often", form: big, contents: []string{"BT /F1 12 Tf 72 700 Td (truoc) Tj ET " + draws.String()}, refused: true},
		{name: "form drawn a few times", form: big, contents: []string{"BT /F1 12 Tf 72 700 Td (truoc) Tj ET /X1 Do /X1 Do /X1 Do"}},
		// The scan starts past maxOperands bytes and catches up on the streams before.
		{name: "operands over three streams, under the cap", contents: []string{"BT /F1 12 Tf 72 700 Td (truoc) Tj ET " + strings.Repeat("1 ", 30000), strings.Repeat("/N ", 30000), strings.Repeat("<41> ", 30000) + "Tc"}},
		{name: "operands over four streams, over the cap", contents: []string{"BT /F1 12 Tf 72 700 Td (truoc) Tj ET " + strings.Repeat("1 ", 30000), strings.Repeat("/N ", 30000), strings.Repeat("<41> ", 30000), strings.Repeat("(a) ", 30000) + "Tc"}, refused: true},
		{name: "short streams, operators between", contents: []string{strings.Repeat("1 Tc ", 30000), strings.Repeat("(x) Tj ", 30000), "BT /F1 12 Tf 72 700 Td (sau) Tj ET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, legacy, slow := fastAndLegacy(t, contentPDF(tt.form, true, tt.contents...))
			if fast != legacy {
				t.Errorf("fast content path differs from pdf.Interpret\n  fast: %.1000s\nlegacy: %.1000s", fast, legacy)
			}
			if slow > 0 {
				t.Errorf("%d page(s) left the fast path", slow)
			}
			if got := strings.Contains(fast, "likely PDF bomb"); got != tt.refused {
				t.Errorf("page refused as a bomb: %v, want %v\n%.600s", got, tt.refused, fast)
			}
		})
	}
}

// TestShortDecimalMatchesStrconv checks the fast number parser against
// the library's way, strconv, bit for bit (the sign of zero included), on
// edge cases and on random numbers of up to 15 digits.
func TestShortDecimalMatchesStrconv(t *testing.T) {
	slow := func(s string) float64 {
		if isInteger([]byte(s)) {
			x, _ := strconv.ParseInt(s, 10, 64)
			return float64(x)
		}
		x, _ := strconv.ParseFloat(s, 64)
		return x
	}
	cases := []string{"0", "-0", "+0", "0.0", "-0.0", "-.0", "5.", ".5", "-.5", "+.5", "007", "-007.250",
		"123456789012345", "-123456789012345", "12345678.9012345", ".000000000000001", "0.1", "0.3", "2.675",
		"999999999999999", "4503599627370497", "1234567890123456"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		digits := make([]byte, 1+rng.IntN(15))
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		s := string(digits)
		if k := rng.IntN(len(digits) + 2); k <= len(digits) {
			s = s[:k] + "." + s[k:]
		}
		switch rng.IntN(3) {
		case 1:
			s = "-" + s
		case 2:
			s = "+" + s
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		got, ok := shortDecimal([]byte(s))
		digits := len(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s))
		if want := digits >= 1 && digits <= 15; ok != want {
			t.Errorf("shortDecimal(%q) ok = %v, want %v", s, ok, want)
		}
		if !ok {
			continue
		}
		if want := slow(s); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("shortDecimal(%q) = %v (%x), strconv %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// TestScriptsMatchesRuneSlice checks scripts, which walks the word as a
// string, against the []rune form it replaced, on words that mix scripts,
// digits, symbols and invalid UTF-8.
func TestScriptsMatchesRuneSlice(t *testing.T) {
	ref := func(w string) (latin, cyrillic, garbled bool) {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		rs := []rune(w)
		prevLetter := false
		for i, r := range rs {
			switch {
			case unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.Is(unicode.Cyrillic, r):
				cyrillic = true
			case (unicode.IsDigit(r) || strings.ContainsRune("~€\\|{}<>", r)) && prevLetter && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
				garbled = true
			}
			prevLetter = unicode.IsLetter(r)
		}
		return latin, cyrillic, garbled || latin && cyrillic
	}
	words := []string{"", "a", "h9i", "E>i~u", "Việt", "nghị", "Москва", "Hà-Nội", "x€y", "a9", "9a", "a|b", "a\xffb", "a9\xff",
		"ạ9ộ", "ПpивeT", "(2020)", "đ~ó", "a1б", "「a」", "a<b>c", "a9\u0301b"}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("aZệĐбЖ9~€|<\xff\u0301 .-")
	for range 5000 {
		rs := make([]rune, 1+rng.IntN(6))
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		words = append(words, string(rs))
	}
	for _, w := range words {
		l1, c1, g1 := scripts(w)
		l2, c2, g2 := ref(w)
		if l1 != l2 || c1 != c2 || g1 != g2 {
			t.Errorf("scripts(%q) = %v %v %v, want %v %v %v", w, l1, c1, g1, l2, c2, g2)
		}
	}
}

// endsInHexString reports whether content may end inside a hex string
// as pdf.Interpret reads it, where it loops for ever (both paths then hang
// until the deadline, and the abandoned parser spins on): contentLexer
// ends in one, or gives up with a "<" still ahead (the library drops a
// malformed operand and reads on).
func endsInHexString(content string) (hang bool) {
	lx := contentLexer{data: []byte(content)}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(errSlowPath)
			hang = ok && (e.why == "unterminated hex string" || strings.Contains(content[min(lx.pos, len(content)):], "<"))
		}
	}()
	w := &pageWalker{}
	for {
		t := lx.token()
		if t.typ == tokEOF {
			return false
		}
		if t.typ == tokKeyword {
			switch t.kw {
			case "null", "[", "]", "<<", ">>":
			default:
				continue
			}
		}
		w.object(&lx, t, 1)
		w.stk, w.arena = w.stk[:0], w.arena[:0]
	}
}

// FuzzFastContentMatchesLegacy feeds arbitrary page content (and form
// content) through the fast path and pdf.Interpret: the documents must
// be byte-identical.
func FuzzFastContentMatchesLegacy(f *testing.F) {
	f.Add("BT /F1 12 Tf 72 700 Td [(Tong)-250(san)-250.5(pham)] TJ T* (a\\(b\\)\\101) ' ET", "BT /F1 10 Tf (x) Tj ET", false)
	f.Add("BT /F1 12 Tf 72 700 Td <42 61 6f> Tj << /A [1 [2] << /B (x) >>] >> /X1 Do (chua dong", "", true)
	f.Add("q 1 0 0 1 0 -50 cm /X1 Do Q ] >> null { 1e5 -0 .5 Tc } (x) Tj", "BT /F1 10 Tf 72 400 Td (a) Tj ET", false)
	f.Fuzz(func(t *testing.T, content, form string, compress bool) {
		if endsInHexString(content) || endsInHexString(form) {
			t.Skip("ends inside a hex string: pdf.Interpret never returns")
		}
		// A hang the filter misses ends at the deadline on both paths.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		fast, legacy, _ := fastAndLegacyCtx(t, ctx, contentPDF(form, compress, content))
		if strings.Contains(fast+legacy, "gave up waiting for the parser") {
			t.Skip("pdf.Interpret hangs on this content")
		}
		if fast != legacy {
			t.Errorf("fast content path differs from pdf.Interpret\n  fast: %.1000s\nlegacy: %.1000s", fast, legacy)
		}
	})
}

// TestContentEndingInHexString reads pages whose content ends inside a
// hex string, where pdf.Interpret loops for ever: the page comes back at
// once with the text before it and a warning, in the page's content and
// in a form's, and the other pages are read as usual.
func TestContentEndingInHexString(t *testing.T) {
	const line = "BT /F1 12 Tf 72 700 Td (Bao cao tinh hinh kinh te xa hoi thang sau) Tj ET\n"
	tests := []struct {
		name    string
		content string
		form    string
	}{
		{name: "page content", content: line + "BT /F1 12 Tf 72 650 Td <4261 6f"},
		{name: "page content, odd digits", content: line + "BT /F1 12 Tf 72 650 Td <426"},
		{name: "form content", content: line + "/X1 Do", form: "BT /F1 10 Tf 72 400 Td <4261"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			doc, err := PDF(ctx, contentPDF(tt.form, true, tt.content))
			if err != nil {
				t.Fatalf("PDF: %v (the library's loop was not avoided?)", err)
			}
			if !strings.Contains(doc.Text(), "Bao cao tinh hinh kinh te xa hoi thang sau") {
				t.Errorf("text %q lost what came before the hex string", doc.Text())
			}
			if len(doc.Warnings) == 0 || !strings.Contains(doc.Warnings[0], "ends inside a hex string") {
				t.Errorf("warnings %q: want one saying the content ends inside a hex string", doc.Warnings)
			}
		})
	}
}
