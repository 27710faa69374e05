package extract

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDOCXHostileXML feeds DOCX a word/document.xml nested 100,000 deep
// (paragraphs inside paragraphs, table cells inside cells, unknown
// elements) and a "billion laughs" entity expansion. encoding/xml reads
// tokens iteratively (no stack overflow) and does not expand custom
// entities (an undefined entity is a syntax error); nesting beyond
// maxDocxDepth is refused at that depth, and nesting under it is read.
// Each returns at once, allocating a bounded multiple of the XML's size.
func TestDOCXHostileXML(t *testing.T) {
	const depth = 100_000
	nest := func(depth int, open, text, close string) string {
		return strings.Repeat(open, depth) + text + strings.Repeat(close, depth)
	}
	laughs := `<!DOCTYPE w:document [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>`
	tests := []struct {
		name string
		xml  string // the whole document.xml
		err  error  // nil: text wanted
		text string
	}{
		{name: "nested paragraphs", xml: wordXML(nest(depth, "<w:p>", "<w:r><w:t>Báo cáo kinh tế</w:t></w:r>", "</w:p>")), err: ErrUnsupported},
		{name: "nested cells", xml: wordXML(nest(depth, "<w:tbl><w:tr><w:tc>", "<w:p><w:r><w:t>ô sâu</w:t></w:r></w:p>", "</w:tc></w:tr></w:tbl>")), err: ErrUnsupported},
		{name: "nested unknown elements", xml: wordXML(nest(depth, "<x:a xmlns:x=\"urn:x\">", "<w:p><w:r><w:t>văn bản</w:t></w:r></w:p>", "</x:a>")), err: ErrUnsupported},
		{name: "nested paragraphs under the cap", xml: wordXML(nest(maxDocxDepth-10, "<w:p>", "<w:r><w:t>Báo cáo kinh tế</w:t></w:r>", "</w:p>")), text: "Báo cáo kinh tế"},
		{name: "nested cells under the cap", xml: wordXML(nest((maxDocxDepth-10)/3, "<w:tbl><w:tr><w:tc>", "<w:p><w:r><w:t>ô sâu</w:t></w:r></w:p>", "</w:tc></w:tr></w:tbl>")), text: "ô sâu"},
		{name: "unclosed nesting", xml: wordXML(strings.Repeat("<w:p>", depth)), err: ErrUnsupported},
		{name: "unclosed nesting under the cap", xml: wordXML(strings.Repeat("<w:p>", maxDocxDepth-10)), err: ErrCorrupt},
		{name: "billion laughs", xml: `<?xml version="1.0"?>` + laughs + wordXML(`<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>`), err: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := zipFile(t, map[string]string{"word/document.xml": tt.xml})
			total0, _ := allocated()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			doc, err := DOCX(ctx, data)
			elapsed := time.Since(start)
			total1, _ := allocated()
			alloc := total1 - total0
			t.Logf("figures: %s: %d bytes of XML, %v, allocated %.1f MiB", tt.name, len(tt.xml), elapsed.Round(time.Millisecond), float64(alloc)/(1<<20))
			if bound := uint64(8*len(tt.xml)) + 4<<20; alloc > bound {
				t.Errorf("allocated %d bytes for %d bytes of XML; want at most %d", alloc, len(tt.xml), bound)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) || doc != nil {
					t.Fatalf("doc, err = %+v, %v; want %v", doc, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Text(); !strings.Contains(got, tt.text) || len(got) > 10*len(tt.text) {
				t.Errorf("text = %.200q, want %q once", got, tt.text)
			}
		})
	}
}

// wordXML wraps body in a WordprocessingML document element.
func wordXML(body string) string {
	return `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body + `</w:body></w:document>`
}
