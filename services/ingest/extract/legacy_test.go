package extract

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
	"github.com/bantin/bantin/internal/vnlegacy"
)

// legacyFixture reads a fixture that an independent converter made (see
// internal/vnlegacy/testdata/gen.sh) and the Unicode text it came from.
func legacyFixture(t *testing.T, name string) (raw []byte, want string) {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "internal", "vnlegacy", "testdata")
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	u, err := os.ReadFile(filepath.Join(dir, "unicode.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return raw, string(u)
}

// fontLine is one line of a hand-made PDF: the font resource and the raw
// bytes to show.
type fontLine struct {
	font string
	text []byte
}

// legacyPDF writes a one-page PDF whose fonts F1, F2… are simple Type1
// fonts with the given BaseFont names and WinAnsiEncoding, as Word writes
// a document typed in .VnTime, and whose lines show raw legacy bytes.
func legacyPDF(baseFonts []string, lines []fontLine) []byte {
	var content bytes.Buffer
	content.WriteString("BT 10 TL 40 800 Td\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "/%s 9 Tf <%s> Tj T*\n", l.font, hex.EncodeToString(l.text))
	}
	content.WriteString("ET\n")
	var fonts strings.Builder
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"", // page, below
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	for i, name := range baseFonts {
		fmt.Fprintf(&fonts, "/F%d %d 0 R ", i+1, len(objs)+1)
		objs = append(objs, fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", name))
	}
	objs[2] = fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << %s>> >> /Contents 4 0 R >>", fonts.String())
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

// wrap splits raw bytes into lines of about width bytes at spaces, and
// the Unicode text into the same words.
func wrap(raw []byte, width, maxLines int) [][]byte {
	words := bytes.Fields(raw)
	var lines [][]byte
	var cur []byte
	for _, w := range words {
		if len(cur)+len(w) > width && len(cur) > 0 {
			lines = append(lines, cur)
			cur = nil
			if len(lines) == maxLines {
				return lines
			}
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, w...)
	}
	return append(lines, cur)
}

// wordAccuracy is the share of the words of want found in got in order,
// word for word.
func wordAccuracy(got, want string) float64 {
	g, w := strings.Fields(got), strings.Fields(want)
	if len(w) == 0 {
		return 0
	}
	right := 0
	for i := range w {
		if i < len(g) && g[i] == w[i] {
			right++
		}
	}
	return float64(right) / float64(len(w))
}

// TestLegacyFontPDF extracts a page of real news text typed in TCVN3 and
// in VNI (encoded by independent converters) from PDFs whose fonts are
// named like the legacy fonts, and from one whose font names say nothing.
func TestLegacyFontPDF(t *testing.T) {
	tcvn, want := legacyFixture(t, "tcvn3-iconv.bin")
	vni, _ := legacyFixture(t, "vni-npm.bin")
	tests := []struct {
		name, font, enc string
		raw             []byte
	}{
		{"tcvn3 in .VnTime", ".VnTime", vnlegacy.TCVN3, tcvn},
		{"tcvn3 in subset .VnArial bold", "ABCDEF+.VnArial,Bold", vnlegacy.TCVN3, tcvn},
		{"vni in VNI-Times", "VNI-Times", vnlegacy.VNI, vni},
		{"tcvn3 in a font named F1", "TimesNewRoman", vnlegacy.TCVN3, tcvn},
		{"vni in a font named F1", "TimesNewRoman", vnlegacy.VNI, vni},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := wrap(tt.raw, 90, 60)                      // one page of text
			heading := []byte("b\xb8o c\xb8o t\xd7nh h\xd7nh") // TCVN3 in an H font: capitals
			fl := []fontLine{{font: "F2", text: heading}}
			for _, l := range lines {
				fl = append(fl, fontLine{font: "F1", text: l})
			}
			data := legacyPDF([]string{tt.font, ".VnTimeH"}, fl)
			doc, err := PDF(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			text := doc.Text()
			if !strings.HasPrefix(text, "BÁO CÁO TÌNH HÌNH") {
				t.Errorf("heading in .VnTimeH = %q, want BÁO CÁO TÌNH HÌNH", text[:min(len(text), 40)])
			}
			body := strings.TrimPrefix(text, "BÁO CÁO TÌNH HÌNH")
			n := len(strings.Fields(body))
			ref := strings.Join(strings.Fields(want)[:n], " ")
			acc := wordAccuracy(body, ref)
			t.Logf("%d words, %.4f of syllables right, EncodingRepaired %q", n, acc, doc.EncodingRepaired)
			if n < 500 || acc < 0.99 {
				t.Errorf("%d words, accuracy %.4f; want a page (≥ 500 words) and ≥ 0.99", n, acc)
			}
			if doc.EncodingRepaired == "" {
				t.Errorf("EncodingRepaired not set")
			}
			if doc.PageInfo[0].NeedsOCR || doc.PageInfo[0].Quality < 0.9 {
				t.Errorf("PageInfo = %+v, want a good page", doc.PageInfo[0])
			}
		})
	}
}

// TestLegacyText reads TCVN3 and VNI plain-text files, raw and as mojibake
// that went through a UTF-8 editor.
func TestLegacyText(t *testing.T) {
	for _, tt := range []struct{ name, file, enc string }{
		{"tcvn3", "tcvn3-iconv.bin", vnlegacy.TCVN3},
		{"vni", "vni-npm.bin", vnlegacy.VNI},
	} {
		raw, want := legacyFixture(t, tt.file)
		mojibake := vnlegacy.Decode(raw, "") // "B¸o c¸o", as UTF-8
		for name, data := range map[string][]byte{"raw bytes": raw, "utf-8 mojibake": []byte(mojibake)} {
			t.Run(tt.name+" "+name, func(t *testing.T) {
				doc, err := Text(data)
				if err != nil {
					t.Fatal(err)
				}
				if doc.EncodingRepaired != tt.enc {
					t.Errorf("EncodingRepaired = %q, want %q", doc.EncodingRepaired, tt.enc)
				}
				acc := wordAccuracy(strings.Join(strings.Fields(doc.Text()), " "), strings.Join(strings.Fields(want), " "))
				t.Logf("%.4f of syllables right", acc)
				if acc < 0.99 {
					t.Errorf("accuracy %.4f < 0.99", acc)
				}
			})
		}
	}
	t.Run("unicode text untouched", func(t *testing.T) {
		_, want := legacyFixture(t, "unicode.txt")
		doc, err := Text([]byte(want))
		if err != nil {
			t.Fatal(err)
		}
		if doc.EncodingRepaired != "" || wordAccuracy(doc.Text(), want) < 1 {
			t.Errorf("Unicode text changed: EncodingRepaired %q", doc.EncodingRepaired)
		}
	})
}

// TestDOC reads a Word 97 file that LibreOffice wrote from Vietnamese news
// text with a table (testdata/bao-cao.doc).
func TestDOC(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "bao-cao.doc"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Detect(data); got != FormatDOC {
		t.Fatalf("Detect = %q, want doc", got)
	}
	t.Run("no reader installed", func(t *testing.T) {
		_, err := ExtractWith(context.Background(), data, Options{})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "install the Debian package antiword") {
			t.Errorf("err = %v, want ErrUnsupported naming antiword", err)
		}
	})
	for _, tool := range []string{"antiword", "catdoc"} {
		t.Run(tool, func(t *testing.T) {
			exe := lookTool(t, tool, tool)
			opts := Options{Antiword: exe}
			if tool == "catdoc" {
				opts = Options{Catdoc: exe}
			}
			doc, err := ExtractWith(context.Background(), data, opts)
			if err != nil {
				t.Fatal(err)
			}
			text := doc.Text()
			for _, s := range []string{"Bắt giữ nghi phạm đâm chết chủ nhà trọ", "Công an tỉnh Vĩnh Long", "Tăng trưởng GRDP"} {
				if !strings.Contains(text, s) {
					t.Errorf("%s text lacks %q", tool, s)
				}
			}
			if doc.Format != FormatDOC || doc.Extractor != tool {
				t.Errorf("Format, Extractor = %q, %q", doc.Format, doc.Extractor)
			}
		})
	}
	t.Run("corrupt", func(t *testing.T) {
		exe := lookTool(t, "antiword", "antiword")
		_, err := DOC(context.Background(), data[:600], Options{Antiword: exe})
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoText) {
			t.Errorf("err = %v, want ErrCorrupt or ErrNoText", err)
		}
	})
}

// lookTool finds an installed tool or skips (fails under
// BANTIN_TEST_STRICT=1) naming its Debian package.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.Tool(t, name, pkg)
}

// TestPdftotextFallback reads with pdftotext what the library cannot: files
// it cannot decrypt, and pages whose text layer is missing or garbage,
// recording the extractor per page.
func TestPdftotextFallback(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "pdf")
	exe := lookTool(t, "pdftotext", "poppler-utils")
	tests := []struct {
		name      string
		file      string
		contains  string
		extractor string
		needsOCR  []int
	}{
		{name: "empty user password, RC4", file: "pypdf-r2-empty-password.pdf", contains: "pdf encryption test", extractor: "pdftotext"},
		{name: "empty user password, kampo", file: "pdfminer-kampo.pdf", extractor: "pdftotext"},
		{name: "garbage ABBYY page stays flagged", file: "vi-5a4e7fb8-duthao-blhs-abbyy-ocr.pdf", contains: "Bộ luật Hình sự", extractor: pdfExtractor, needsOCR: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := PDF(context.Background(), data); err == nil && tt.extractor == "pdftotext" {
				t.Fatalf("the library alone reads %s now; pick another file", tt.file)
			}
			doc, err := PDFWith(context.Background(), data, Options{Pdftotext: exe})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(doc.Text(), tt.contains) {
				t.Errorf("text lacks %q", tt.contains)
			}
			if doc.PageInfo[0].Extractor != tt.extractor {
				t.Errorf("page 1 extractor = %q, want %q", doc.PageInfo[0].Extractor, tt.extractor)
			}
			for _, n := range tt.needsOCR {
				if !doc.PageInfo[n-1].NeedsOCR {
					t.Errorf("page %d not flagged NeedsOCR: %+v", n, doc.PageInfo[n-1])
				}
			}
		})
	}
}

// TestDOCXZipBomb refuses a document.xml that inflates far beyond the cap,
// whether its header says so or lies about its size.
func TestDOCXZipBomb(t *testing.T) {
	huge := `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>` +
		strings.Repeat("a", maxDocxXML+1024) + `</w:t></w:r></w:p></w:body></w:document>`
	bomb := zipFile(t, map[string]string{"word/document.xml": huge})
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed; want a small file", len(bomb))
	}
	_, err := DOCX(context.Background(), bomb)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "uncompressed") {
		t.Errorf("honest header: err = %v, want ErrUnsupported about the size", err)
	}
	// Lie in the central directory: claim 100 bytes uncompressed.
	liar := bytes.Clone(bomb)
	cd := bytes.LastIndex(liar, []byte("PK\x01\x02"))
	if cd < 0 {
		t.Fatal("no central directory")
	}
	copy(liar[cd+24:cd+28], []byte{100, 0, 0, 0})
	_, err = DOCX(context.Background(), liar)
	if err == nil || !(errors.Is(err, ErrUnsupported) || errors.Is(err, ErrCorrupt)) {
		t.Errorf("lying header: err = %v, want a refusal", err)
	}
}
