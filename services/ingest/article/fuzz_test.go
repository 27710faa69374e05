package article

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with the testdata pages and
// attachment markup fragments. Parse must not panic, must return either an
// article or an error, and every attachment URL must be absolute http(s);
// the text must be valid, NFC and collapsed.
func FuzzParse(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.html"))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		`<p><strong>File đính kèm:</strong> <a href="x.pdf">x</a></p>`,
		`<a href="javascript:downloadfile('a b.doc','/A/a b.doc')">a</a>`,
		`<base href="//cdn/"><a href="\\x\\y.PDF?#">y</a>`,
		`<a href="/_layouts/15/WopiFrame.aspx?sourcedoc=%zz.docx">Xem</a>`,
		`<table><caption>Tải về</caption><tr><td><a href="?id=1"></a></td></tr></table>`,
		`<iframe src="/pdfjs/web/viewer.html?file=http://[::1/x.pdf"></iframe>`,
		`<time datetime="2023-13-45T99:99">15:34 31/02/2023</time>`,
		"\xef\xbb\xbf<title>\xfd\xec</title>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := Parse(raw, "https://tinh.gov.vn/tin-tuc/2023/12/bai.html")
		if err != nil {
			if a != nil {
				t.Fatalf("Parse returned an article and error %v", err)
			}
			return
		}
		if a == nil {
			t.Fatal("Parse returned neither article nor error")
		}
		for _, at := range a.Attachments {
			u, err := parseURL(at.URL)
			if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("attachment URL %q is not absolute http(s): %v", at.URL, err)
			}
		}
		for _, s := range append(a.Paragraphs, a.Title, a.Author) {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
		}
		checkInvariants(t, a)
	})
}
