package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzDOCX is a minimal Word document holding body as document.xml.
func fuzzDOCX(body string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("word/document.xml")
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body + `</w:body></w:document>`))
	zw.Close()
	return buf.Bytes()
}

// checkOutcome fails on a panic-free but unclassified result.
func checkOutcome(t *testing.T, doc *Document, err error) {
	t.Helper()
	switch {
	case err == nil:
		if doc == nil {
			t.Fatal("nil Document without an error")
		}
		for _, p := range doc.Paragraphs {
			if !utf8.ValidString(p.Text) {
				t.Fatalf("paragraph is not UTF-8: %q", p.Text)
			}
		}
	case errors.Is(err, ErrNoText), errors.Is(err, ErrUnsupported), errors.Is(err, ErrCorrupt), errors.Is(err, context.DeadlineExceeded):
	default:
		t.Fatalf("unclassified error: %v", err)
	}
}

// FuzzPDF feeds arbitrary bytes to the PDF text wrapper.
func FuzzPDF(f *testing.F) {
	f.Add(minimalPDF("BT /F1 12 Tf 72 700 Td (B\xb8o c\xb8o) Tj ET", true))
	f.Add(minimalPDF("BT /F1 12 Tf [(a)-300(b)] TJ ET", false))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Pages /Kids [1 0 R] >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		doc, err := PDF(ctx, data)
		checkOutcome(t, doc, err)
	})
}

// FuzzDOCX feeds arbitrary document.xml bodies, inside a valid zip, and
// arbitrary bytes to the DOCX reader: deeply nested or broken XML must give
// a classified error, not a panic or a hang.
func FuzzDOCX(f *testing.F) {
	f.Add(`<w:p><w:r><w:t>Báo cáo kết quả</w:t></w:r></w:p>`, false)
	f.Add(`<w:p><w:r><w:t xml:space="preserve"> a </w:t><w:tab/><w:br/></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>ô</w:t></w:r></w:p></w:tc></w:tr></w:tbl>`, false)
	f.Add(`<w:p><w:p><w:p><w:p>`, false)
	f.Add("PK\x03\x04garbage", true)
	f.Fuzz(func(t *testing.T, body string, raw bool) {
		data := []byte(body)
		if !raw {
			data = fuzzDOCX(body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		doc, err := DOCX(ctx, data)
		checkOutcome(t, doc, err)
	})
}

// FuzzText feeds arbitrary bytes, in any legacy or Unicode encoding, to the
// plain-text reader.
func FuzzText(f *testing.F) {
	f.Add([]byte("Báo cáo\n\nnội dung"))
	f.Add([]byte("B\xb8o c\xb8o k\xd5t qu\xb6\r\n"))
	f.Add([]byte("\xff\xfeB\x00\xe1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Text(data)
		checkOutcome(t, doc, err)
	})
}
