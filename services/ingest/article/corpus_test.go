package article

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
)

// corpusDir returns the shared test corpus root named by BANTIN_CORPUS.
// Without it the test is skipped, or fails when BANTIN_TEST_STRICT=1 so
// that CI cannot pass by silently skipping.
func corpusDir(t testing.TB) string {
	t.Helper()
	return testenv.Corpus(t)
}

// TestCorpusVBPL parses the real vbpl.vn pages saved in the corpus, whose
// attachments hide in javascript:downloadfile('NAME','/PATH') links next
// to WopiFrame "Xem nhanh" viewer links.
func TestCorpusVBPL(t *testing.T) {
	dir := corpusDir(t)
	const (
		luat  = "https://vbpl.vn/FileData/TW/Lists/vbpq/Attachments/96172/VanBanGoc_101.2015.QH13."
		doc   = "https://vbpl.vn/TW/Lists/vbpq/Attachments/96172/101.2015.QH13.doc"
		hpDoc = "https://vbpl.vn/TW/Lists/vbpq/Attachments/32801/Hien%20phap%20nam%202013.doc"
		hpPDF = "https://vbpl.vn/FileData/TW/Lists/vbpq/Attachments/32801/VanBanGoc_Hien%20phap%202013.pdf"
	)
	tests := []struct {
		name, file, url string
		want            []Attachment
		// inBody must appear in the body text; minParas is its least size.
		inBody   string
		minParas int
	}{
		{
			name: "thuoc tinh, Bộ luật Tố tụng hình sự, parts P1-P3",
			file: "vbpl-thuoctinh-luat-101-2015-QH13.html",
			url:  "https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?dvid=13&ItemID=96172&Keyword=",
			want: []Attachment{
				{URL: doc, Name: "101.2015.QH13.doc"},
				{URL: luat + "P1.pdf", Name: "101.2015.QH13.P1.pdf"},
				{URL: luat + "P2.pdf", Name: "101.2015.QH13.P2.pdf"},
				{URL: luat + "P3.pdf", Name: "101.2015.QH13.P3.pdf"},
			},
			inBody:   "Số ký hiệu | 101/2015/QH13",
			minParas: 3,
		},
		{
			name: "thuoc tinh, Hiến pháp, names with spaces",
			file: "vbpl-thuoctinh-hien-phap-2013.html",
			url:  "https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID=32801",
			want: []Attachment{
				{URL: hpDoc, Name: "Hien phap nam 2013.doc"},
				{URL: hpPDF, Name: "Hien phap 2013.pdf"},
			},
			inBody:   "Hiến pháp năm 2013",
			minParas: 3,
		},
		{
			name: "toan van, Hiến pháp, PDF listed first",
			file: "vbpl-toanvan-hien-phap-2013.html",
			url:  "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=32801",
			want: []Attachment{
				{URL: hpPDF, Name: "Hien phap 2013.pdf"},
				{URL: hpDoc, Name: "Hien phap nam 2013.doc"},
			},
			inBody:   "Nhân dân Việt Nam lao động cần cù",
			minParas: 400,
		},
		{
			name: "toan van, Bộ luật Tố tụng hình sự, 890 KB page",
			file: "vbpl-toanvan-luat-101-2015-QH13.html",
			url:  "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=96172",
			want: []Attachment{
				{URL: luat + "P1.pdf", Name: "101.2015.QH13.P1.pdf"},
				{URL: luat + "P2.pdf", Name: "101.2015.QH13.P2.pdf"},
				{URL: luat + "P3.pdf", Name: "101.2015.QH13.P3.pdf"},
				{URL: doc, Name: "101.2015.QH13.doc"},
			},
			inBody:   "Điều 510. Quy định chi tiết",
			minParas: 3000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "html", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(raw, tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(a.Attachments, tc.want) {
				t.Errorf("Attachments:\n got %s\nwant %s", dump(a.Attachments), dump(tc.want))
			}
			if a.Site != "vbpl.vn" {
				t.Errorf("Site = %q, want vbpl.vn", a.Site)
			}
			if len(a.Paragraphs) < tc.minParas {
				t.Errorf("got %d paragraphs, want at least %d", len(a.Paragraphs), tc.minParas)
			}
			body := strings.Join(a.Paragraphs, "\n")
			if !strings.Contains(body, tc.inBody) {
				t.Errorf("body lacks %q", tc.inBody)
			}
			for _, junk := range []string{"Xem nhanh", "This div, which you should delete", "downloadfile"} {
				if strings.Contains(body, junk) {
					t.Errorf("body has %q", junk)
				}
			}
			checkInvariants(t, a)
		})
	}
}

func BenchmarkParse(b *testing.B) {
	type page struct {
		name, url string
		raw       []byte
	}
	var pages []page
	for _, f := range fixtures {
		pages = append(pages, page{f.file, f.url, readFixture(b, f.file)})
	}
	if dir := os.Getenv("BANTIN_CORPUS"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "html", "*.html"))
		for _, n := range names {
			raw, err := os.ReadFile(n)
			if err != nil {
				b.Fatal(err)
			}
			pages = append(pages, page{filepath.Base(n), "https://vbpl.vn/TW/Pages/x.aspx", raw})
		}
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(p.raw)))
			for b.Loop() {
				if _, err := Parse(p.raw, p.url); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
